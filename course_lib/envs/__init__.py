"""Small environments the course owns, registered with Gymnasium when this package is imported.

* ``course_lib/Navigation2D-v0`` -- :class:`course_lib.envs.navigation.Navigation2DEnv` (notebook 11);
* ``course_lib/BernoulliBandit-v0`` -- :class:`course_lib.envs.bandits.BernoulliBanditEnv` (notebook 12).
"""

from gymnasium.envs.registration import register, registry

for _id, _entry in (
    ("course_lib/Navigation2D-v0", "course_lib.envs.navigation:Navigation2DEnv"),
    ("course_lib/BernoulliBandit-v0", "course_lib.envs.bandits:BernoulliBanditEnv"),
):
    if _id not in registry:
        register(id=_id, entry_point=_entry)
