"""IT: throughput, dead letters with reasons, data quality; records in = stored + dead."""

import streamlit as st

from dashboard.session import page_access
from dashboard.widgets import denied_guard

data = page_access()
st.title("Pipeline health")
with denied_guard():
    health = data.pipeline_health()
    manifest = health["manifest"]
    if manifest is None:
        st.warning("The warehouse has not published a snapshot yet.")
    else:
        st.caption(f"Snapshot published {manifest['published_at']}")
        rows = manifest["rows"]
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Events stored", rows.get("events", 0))
        c2.metric("Alerts", rows.get("alerts", 0))
        c3.metric("Dead letters", rows.get("dead_letters", 0))
        c4.metric("Consumer lag", health["lag"] if health["lag"] is not None else "n/a")
    st.subheader("Throughput (records per minute)")
    if not health["throughput"].empty:
        st.bar_chart(health["throughput"], x="minute", y="records_in", color="source")
    st.subheader("Accounting per source")
    st.caption("Records in = events parsed + dead-lettered, for every source.")
    st.dataframe(health["accounting"], hide_index=True, width="stretch")
    st.subheader("Dead letters by reason")
    st.dataframe(health["dead_letters"], hide_index=True, width="stretch")
    st.subheader("Data quality")
    st.caption("Great Expectations suites, one per source, run on every batch: rows failing "
               "an error expectation are dead letters; warnings are recorded only.")
    st.dataframe(health["quality"], hide_index=True, width="stretch")
