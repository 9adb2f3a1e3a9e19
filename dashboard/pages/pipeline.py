"""IT: is everything that came in accounted for? Records in, events, dead letters, quality."""

import streamlit as st

from dashboard.data import get_data

data = get_data()
st.title("Pipeline health")
manifest = data.manifest()
if manifest is None:
    st.warning("The warehouse has not published a snapshot yet.")
else:
    st.caption(f"Snapshot published {manifest['published_at']}")
    rows = manifest["rows"]
    c1, c2, c3 = st.columns(3)
    c1.metric("Events stored", rows.get("events", 0))
    c2.metric("Alerts", rows.get("alerts", 0))
    c3.metric("Dead letters", rows.get("dead_letters", 0))
st.subheader("Accounting per source")
st.caption("Records in = events parsed + dead-lettered, for every source.")
st.dataframe(data.accounting(), hide_index=True, width="stretch")
st.subheader("Dead letters by reason")
st.dataframe(data.dead_letter_reasons(), hide_index=True, width="stretch")
st.subheader("Data quality")
st.caption("Great Expectations suites, one per source, run on every batch: rows failing an "
           "error expectation are dead letters; warnings are recorded only.")
st.dataframe(data.quality(), hide_index=True, width="stretch")
