"""Figures, drawn with matplotlib's Agg backend into PNG files, all in one style.

- :mod:`.style`: the style and the helpers every figure shares;
- :mod:`.trial`: one trial's figures;
- :mod:`.study`: a study's figures, on its parent run;
- :mod:`.report`: the figures of ``python -m search report``.
"""
