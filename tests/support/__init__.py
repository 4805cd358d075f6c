"""Helpers the tests share (servers, files, recorders). Support modules, never test modules: a test imports
helpers from here or takes fixtures from a conftest.py, never from another test_*.py."""
