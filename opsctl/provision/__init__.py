"""`opsctl provision`: the app's AWS resources, one module per kind (read current -> diff -> apply).

Imports boto3: only ever imported lazily, from inside command functions.
"""
