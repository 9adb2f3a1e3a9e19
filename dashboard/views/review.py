"""The DfE filtering and monitoring standards: the annual review record and the
block/allow change log with reasons (governors and the headteacher record them)."""

from datetime import UTC, date, datetime, time

import streamlit as st

from dashboard.session import page_access
from dashboard.widgets import denied_guard
from safeguard.auth import Permission
from safeguard.review import REVIEW_ROLES, FilterChange, FilterReview

data = page_access()
user = data.user
st.title("Filtering and monitoring review")
with denied_guard():
    reviews, changes = data.filter_records()
    st.subheader("Annual review record")
    if reviews:
        latest = reviews[0]
        st.text(f"Reviewed {latest.review_date.isoformat()}; next review "
                f"{latest.next_review.isoformat() if latest.next_review else 'not set'}")
        st.dataframe([{"role": k, "name": v} for k, v in latest.roles.items()],
                     hide_index=True, key="roles")
        st.text("Attendees: " + ", ".join(latest.attendees))
        st.dataframe([{"decision": d} for d in latest.decisions], hide_index=True,
                     key="decisions")
    else:
        st.warning("No annual review recorded: the standards ask for one at least yearly.")
    st.subheader("Block/allow change log")
    st.dataframe([{"when": c.changed_at, "change": c.change, "site or category": c.target,
                   "reason": c.reason, "approved by": c.approved_by} for c in changes],
                 hide_index=True, width="stretch", key="changes")
    if data.can(Permission.edit_review) and data.school is not None:
        school_id = data.school.school_id
        with st.expander("Record this year's review"), st.form("review"):
            held = st.date_input("Review date", value=date.today())
            roles = {r: st.text_input(r) for r in REVIEW_ROLES}
            attendees = st.text_area("Attendees (one per line)")
            decisions = st.text_area("Decisions (one per line)")
            nxt = st.date_input("Next review", value=None)
            if st.form_submit_button("Save review"):
                try:
                    record = FilterReview.new(school_id, held, roles, attendees.splitlines(),
                                              decisions.splitlines(), user.username, nxt)
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Review saved ({data.record_review(record)}).")
        with st.expander("Record a block/allow change"), st.form("change"):
            when = st.date_input("Date of the change", value=date.today())
            kind = st.radio("Change", ["block", "allow"], horizontal=True)
            target = st.text_input("Site or category")
            reason = st.text_area("Reason")
            approved = st.text_input("Approved by")
            if st.form_submit_button("Save change"):
                try:
                    change = FilterChange.new(school_id, datetime.combine(when, time(), UTC),
                                              kind, target, reason, user.username,
                                              approved_by=approved or None)
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Change saved ({data.record_review(change)}).")
