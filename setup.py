"""The compiled part of the matcher and the bundled data; everything else is in pyproject.toml.

``optional=True``: where no C compiler is available the install goes on and
the matcher uses the pure-Python reference in ``bot/engine/wordscan.py`` (slower,
same results).

Bundled data: the top-level ``watchlists/`` and ``samples/`` folders (what a
user edits in a clone) are shipped inside the package as ``bot/watchlists/``
and ``bot/samples/``, so an installed ``alertbot`` (wheel, pipx, Docker) finds
them without a clone. The folders stay where they are in the repository; only
the install maps them (``package_dir``). ``bot/bundled.py`` looks them up.
The packages and their data are declared here, not in pyproject.toml, because
a discovered package list (``find_packages``) cannot be extended there with
mapped folders.
"""

from setuptools import Extension, find_packages, setup

# installed package name -> folder in the repository; every file each holds is shipped
BUNDLED = {"bot.watchlists": "watchlists", "bot.samples": "samples"}

setup(
    packages=find_packages(include=["bot", "bot.*", "handlers", "handlers.*"]) + list(BUNDLED),
    package_dir=BUNDLED,
    package_data={
        "bot": ["py.typed"],
        "bot.engine": ["_wordscan.pyi"],
        "bot.store": ["migrations/*.py", "migrations/*.mako", "migrations/versions/*.py"],
        **{name: ["*"] for name in BUNDLED},
    },
    ext_modules=[
        Extension(
            "bot.engine._wordscan",
            sources=["bot/engine/_wordscan.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ],
)
