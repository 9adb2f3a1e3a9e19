"""A pupil's safeguarding history: alerts, triage steps and incidents, oldest first."""

import streamlit as st

from dashboard.session import access, signed_in
from dashboard.widgets import denied_guard

user = signed_in()
assert user is not None  # noqa: S101 - app.py shows this page only when signed in
data = access(user)
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
