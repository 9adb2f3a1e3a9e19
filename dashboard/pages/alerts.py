"""DSL: the live alert queue, most severe and newest first."""

import streamlit as st

from dashboard.data import get_data

data = get_data()
st.title("Alerts")


@st.fragment(run_every=5)
def alert_queue() -> None:
    summary = data.summary()
    c1, c2, c3 = st.columns(3)
    c1.metric("Alerts", summary["total"])
    c2.metric("Severity 4-5", summary["severe"])
    c3.metric("New", summary["new"])
    left, right = st.columns(2)
    min_sev = left.select_slider("Minimum severity", options=[1, 2, 3, 4, 5], value=1)
    route = right.selectbox("Routed to", ["all", "dsl", "headteacher", "it"])
    alerts = data.alerts(min_severity=min_sev, routing=None if route == "all" else route)
    if alerts.empty:
        st.info("No alerts yet.")
        return
    st.dataframe(
        alerts[["severity", "category", "title", "subject", "clause_ids", "event_count",
                "first_seen", "last_seen", "routing", "status"]],
        hide_index=True, width="stretch",
        column_config={
            "severity": st.column_config.NumberColumn("Sev", format="%d"),
            "clause_ids": st.column_config.ListColumn("Policy clauses"),
            "event_count": st.column_config.NumberColumn("Events"),
            "first_seen": st.column_config.DatetimeColumn("First seen (UTC)"),
            "last_seen": st.column_config.DatetimeColumn("Last seen (UTC)"),
        })


alert_queue()
