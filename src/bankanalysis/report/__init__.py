"""The report layer: formatting, tables, charts, narrative and HTML, apart from the analytics."""
