"""The desk's vocabulary (enums) and policy (every who / when / where rule, one function each).

Imports the settings type only; services, handlers and the scheduler ask it, never decide.
"""
