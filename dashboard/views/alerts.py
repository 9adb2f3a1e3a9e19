"""The alert queue: most severe and newest first, refreshed every 2 seconds."""

import streamlit as st

from dashboard.session import page_access, still_signed_in
from dashboard.widgets import denied_guard

data = page_access()
if wanted := st.query_params.get("alert_id"):
    # an "Open" link or an email link: a new tab signs in on the main page (this one)
    st.switch_page("views/alert.py", query_params={"alert_id": wanted})
st.title("Alerts")
with denied_guard():
    choices = data.queue_choices()
    c1, c2, c3, c4 = st.columns(4)
    severities = c1.multiselect("Severity", [5, 4, 3, 2, 1])
    categories = c2.multiselect("Category", choices["category"])
    statuses = c3.multiselect("Status", choices["status"])
    years = c4.multiselect("Year group", choices["year_group"])

    @st.fragment(run_every=2)  # with the writer publishing every 2 s: an alert shows within ~4 s
    def alert_queue() -> None:
        if not still_signed_in():  # a refresh is not use: an idle screen still times out
            st.rerun()
        queue = data.queue(severities=severities, categories=categories, statuses=statuses,
                           year_groups=years)
        m1, m2, m3 = st.columns(3)
        m1.metric("Alerts", len(queue))
        m2.metric("Severity 4-5", int((queue["severity"] >= 4).sum()))
        m3.metric("New", int((queue["status"] == "new").sum()))
        if queue.empty:
            st.info("No alerts yet.")
            return
        queue["open"] = "/alert?alert_id=" + queue["alert_id"]
        shown = [c for c in ("open", "severity", "category", "title", "name", "subject",
                             "year_group", "status", "clause_ids", "event_count", "last_seen")
                 if c in queue.columns]
        st.dataframe(queue[shown], hide_index=True, width="stretch", key="queue",
                     column_config={
                         "open": st.column_config.LinkColumn("Alert", display_text="Open"),
                         "severity": st.column_config.NumberColumn("Sev", format="%d"),
                         "clause_ids": st.column_config.ListColumn("Policy clauses"),
                         "event_count": st.column_config.NumberColumn("Events"),
                         "last_seen": st.column_config.DatetimeColumn("Last seen (UTC)"),
                         "year_group": "Year group"})

    alert_queue()
