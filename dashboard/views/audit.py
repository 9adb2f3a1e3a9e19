"""Headteacher: who signed in, viewed which pupil's data, triaged or changed what."""

import streamlit as st

from dashboard.session import page_access
from dashboard.widgets import denied_guard

data = page_access()
st.title("Audit log")
with denied_guard():
    log = data.audit_log()
    kinds = st.multiselect("What", sorted(set(log["action"])))
    shown = log[log["action"].isin(kinds)] if kinds else log
    st.dataframe(shown, hide_index=True, width="stretch", key="audit")
