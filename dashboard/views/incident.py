"""Record a new incident: it goes through the same parser and rules as the school's log."""

from datetime import UTC, datetime

import streamlit as st

from dashboard.session import backend, page_access
from dashboard.widgets import denied_guard
from pipelines.incident_form import IncidentForm, IncidentFormError, ingest_inbox
from producers.incidents import CATEGORIES, ROLES

data = page_access()
user = data.user
be = backend()
st.title("Record an incident")
with denied_guard():
    pupils = dict(data.pupils())
    with st.form("incident"):
        day = st.date_input("Date it happened", max_value=datetime.now(UTC).date())
        at = st.time_input("Time (school time)")
        category = st.selectbox("Category", sorted(CATEGORIES))
        chosen = st.multiselect("Pupils involved", list(pupils), format_func=pupils.__getitem__)
        role = st.selectbox("Their part", ROLES)
        description = st.text_area("What happened")
        actions = st.text_area("Actions taken")
        reporter = st.text_input("Reported by", value=user.display_name)
        sent = st.form_submit_button("Record incident")
    if sent:
        tz = be.school.timezone if be.school else UTC
        try:
            form = IncidentForm(datetime.combine(day, at, tz).astimezone(UTC), reporter,
                                category, tuple((p, role) for p in chosen), description,
                                actions)
        except IncidentFormError as exc:
            st.error(str(exc))
        else:
            school_dir = be.school_dir
            where = data.record_incident(
                form, be.settings.db_path,
                lambda: ingest_inbox(be.settings.db_path, school_dir, broker=be.settings.broker,
                                     topic_prefix=be.settings.topic_prefix)
                if school_dir else "inbox")
            st.success(f"Incident recorded ({where}).")
            st.text(description)
