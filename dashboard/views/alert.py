"""One alert: what happened (the evidence timeline), which clauses, and its triage."""

import streamlit as st

from dashboard.session import page_access
from dashboard.widgets import denied_guard
from safeguard.actions import OUTCOMES

data = page_access()
st.title("Alert")
with denied_guard():
    queue = data.queue()
    ids = list(queue["alert_id"])
    wanted = st.query_params.get("alert_id")
    if wanted and wanted not in ids:
        ids.insert(0, wanted)  # a link from an email: the access layer decides below
    if not ids:
        st.info("No alerts yet.")
        st.stop()
    labels = dict(zip(queue["alert_id"], queue["severity"].astype(str) + " · " + queue["title"],
                      strict=True))
    alert_id = st.selectbox("Alert", ids, index=ids.index(wanted) if wanted in ids else 0,
                            format_func=lambda a: labels.get(a, a))
    alert = data.alert(alert_id)
    st.subheader(alert["title"])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Severity", int(alert["severity"]))
    c2.metric("Status", alert["status"])
    c3.metric("Category", alert["category"])
    c4.metric("Events", int(alert["event_count"]))
    who = alert["name"] or alert["subject"]
    st.text(f"Subject: {who} ({alert['subject']})" + (
        f", {alert['year_group']}" if alert.get("year_group") else ""))
    st.markdown("**Policy clauses breached**")
    for clause_id, text in alert["clauses"]:
        st.text(f"{clause_id}: {text}")
    if alert["evidence"] is not None:
        st.markdown("**Evidence timeline**")
        st.dataframe(alert["evidence"], hide_index=True, width="stretch", key="evidence")
    st.markdown("**Triage**")
    if not alert["actions"].empty:
        st.dataframe(alert["actions"], hide_index=True, width="stretch", key="actions")
    if data.can_triage:
        with st.form("triage", clear_on_submit=True):
            action = st.radio("Step", ["acknowledge", "assign", "escalate", "outcome", "note",
                                       "close", "reopen"], horizontal=True)
            assignee = st.text_input("Assign to (for assign)")
            outcome = st.selectbox("Outcome (for outcome)", list(OUTCOMES),
                                   format_func=OUTCOMES.__getitem__)
            note = st.text_area("Note")
            done = st.form_submit_button("Record")
        if done:
            try:
                where = data.triage(alert_id, action,
                                    assignee=assignee or None if action == "assign" else None,
                                    outcome=outcome if action == "outcome" else None,
                                    note=note or None)
            except ValueError as exc:
                st.error(str(exc))
            else:
                st.success(f"Recorded ({where}).")
