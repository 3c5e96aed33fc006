r"""Baird's counterexample (Baird, 1995; Sutton and Barto, 2nd ed., Example 11.1), as matrices.

Seven states, reward 0 everywhere, so the true value of every state is 0. Linear
features :math:`v_w(s) = x(s)^\top w` with 8 weights: states 1-6 have
:math:`v = 2 w_i + w_8`, state 7 has :math:`v = w_7 + 2 w_8`. The *target* policy
always takes the "solid" action, which leads to state 7; the *behaviour* policy
visits all seven states equally often. Off-policy semi-gradient TD on this
distribution diverges (notebook ``07_target_networks``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FEATURES", "TARGET_TRANSITIONS", "BEHAVIOUR_DISTRIBUTION", "ON_POLICY_DISTRIBUTION", "INITIAL_WEIGHTS"]

FEATURES = np.zeros((7, 8))
FEATURES[np.arange(6), np.arange(6)] = 2.0
FEATURES[:6, 7] = 1.0
FEATURES[6, 6], FEATURES[6, 7] = 1.0, 2.0
FEATURES.setflags(write=False)

TARGET_TRANSITIONS = np.zeros((7, 7))  #: P_pi[s, s']: the target policy goes to state 7 from everywhere
TARGET_TRANSITIONS[:, 6] = 1.0
TARGET_TRANSITIONS.setflags(write=False)

BEHAVIOUR_DISTRIBUTION = np.full(7, 1 / 7)  #: how often the behaviour policy visits each state
ON_POLICY_DISTRIBUTION = np.eye(7)[6]  #: the target policy stays in state 7

INITIAL_WEIGHTS = np.array([1.0, 1, 1, 1, 1, 1, 10, 1])  #: as in Sutton and Barto's figure 11.2
