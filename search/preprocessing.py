"""Where champions registered before search/ had sub-packages find their preprocessing.

Their pickles name ``search.preprocessing.RawRows`` and ``search.preprocessing.ZCA``;
the classes now live in :mod:`search.data.preprocessing`. Import from there.
"""

from .data.preprocessing import ZCA, RawRows

__all__ = ["RawRows", "ZCA"]
