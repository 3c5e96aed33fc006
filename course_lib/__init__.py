"""course_lib: the companion library of the deep RL and meta-learning course.

The package is the single source of truth for every algorithm the course
teaches; the notebooks in ``notebooks/`` derive, show and run this code.

Layout (dependencies point one way):

* :mod:`course_lib.derivations` -- SymPy: each formula as an expression + checks
  (for notebooks and tests; training code never imports SymPy);
* :mod:`course_lib.rl` -- returns, rollouts, losses, agents;
* :mod:`course_lib.seeding`, :mod:`course_lib.device` -- reproducibility, hardware;
* :mod:`course_lib.doctor` -- ``python -m course_lib.doctor`` checks a machine for the course;
* :mod:`course_lib.display` -- show package source inside a notebook;
* :mod:`course_lib.plotting` -- the only module that imports matplotlib.
"""

from course_lib.device import get_device
from course_lib.seeding import Generators, seed_everything

__all__ = ["Generators", "get_device", "seed_everything", "__version__"]
__version__ = "0.2.0"  # = pyproject.toml, CHANGELOG.md, CITATION.cff, the book's footer (tests/test_packaging.py)
