"""Vigil's dashboards: the Streamlit entry point (``vigil dashboard`` runs it).

The frame around every page: page config, the navigation, and the shared sidebar filters
(project, time range). Each page is a file in ``pages/`` and reads the filters with
``view_filters.current()``.
"""

import streamlit as st

import view_filters

st.set_page_config(page_title="Vigil", page_icon=":material/monitor_heart:", layout="wide")

page = st.navigation([
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:"),
])
st.sidebar.title(":material/monitor_heart: Vigil")
if view_filters.sidebar() is None:
    st.info("Nothing to show yet: Vigil has no project. Create one with `vigil project create NAME`.")
    st.stop()
page.run()
