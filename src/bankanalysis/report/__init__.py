"""The report layer: shaping analytics results into the tables, sentences, charts and metrics
the notebooks show (one module per notebook, plus shared formatting, tables, plots and context).

Analytics packages never import from here; modules here may import analytics and rules.
"""
