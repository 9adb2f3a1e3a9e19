"""Headteacher: who signed in, viewed which pupil's data, triaged or changed what."""

import streamlit as st

from dashboard.session import access, signed_in
from dashboard.widgets import denied_guard

user = signed_in()
if user is None:  # not signed in (e.g. a stale address): the sign-in page
    st.switch_page("app.py")
data = access(user)
st.title("Audit log")
with denied_guard():
    log = data.audit_log()
    kinds = st.multiselect("What", sorted(set(log["action"])))
    shown = log[log["action"].isin(kinds)] if kinds else log
    st.dataframe(shown, hide_index=True, width="stretch", key="audit")
