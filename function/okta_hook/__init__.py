"""The Okta event hook receiver: settings, authentication, parsing, event handlers and logs.

A package (not loose modules) so that its names cannot collide with anything installed beside it
in the functions runtime, where the source folder is appended to sys.path.
"""
