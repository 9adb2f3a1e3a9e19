"""A pupil's safeguarding history: alerts, triage steps and incidents, oldest first."""

import streamlit as st

from dashboard.session import page_access
from dashboard.widgets import denied_guard

data = page_access()
st.title("Pupil chronology")
with denied_guard():
    pupils = data.pupils()
    if not pupils:
        st.info("No directory loaded: start the dashboard with --school.")
        st.stop()
    labels = dict(pupils)
    person = st.selectbox("Pupil", [p for p, _ in pupils], index=None,
                          format_func=labels.__getitem__, placeholder="Choose a pupil")
    if person:
        history = data.chronology(person)
        if history.empty:
            st.info("Nothing recorded for this pupil.")
        else:
            st.dataframe(history, hide_index=True, width="stretch", key="chronology")
