"""Headteacher: who signed in, viewed which pupil's data, triaged or changed what."""

import streamlit as st

from dashboard.session import access, signed_in
from dashboard.widgets import denied_guard

user = signed_in()
assert user is not None  # noqa: S101 - app.py shows this page only when signed in
data = access(user)
st.title("Audit log")
with denied_guard():
    log = data.audit_log()
    kinds = st.multiselect("What", sorted(set(log["action"])))
    shown = log[log["action"].isin(kinds)] if kinds else log
    st.dataframe(shown, hide_index=True, width="stretch", key="audit")
