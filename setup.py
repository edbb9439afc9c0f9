"""Packaging glue that pyproject.toml cannot express: the top-level `resources/` folder of a
checkout is installed inside the wheel as the package data `crossid_desktop/resources/`, so
`crossid_desktop.paths.resource_path` finds it in both places."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["crossid_desktop", "crossid_desktop.*"]), "crossid_desktop.resources"],
    package_dir={"crossid_desktop.resources": "resources"},
    package_data={"crossid_desktop.resources": ["*", "**/*"]},
    include_package_data=False,
)
