"""1:N search: the query's rules (:mod:`~crossid_desktop.search.query`) and the search
service the CLI, the GUI's worker and batch jobs share (:mod:`~crossid_desktop.search.service`)."""
