#!/usr/bin/env python3
"""Validates YAML files against a JSON Schema with a real validator (jsonschema, Draft 7), for flow's tests.

Usage: validate_schema.py SCHEMA.json FILE.yaml...
Prints one line per file: "ok PATH" or "invalid PATH: MESSAGE". Exit 0 when it could check every file (whatever
the verdicts), 2 when the schema itself is not a valid Draft 7 schema or a file is not YAML.
"""
import json
import sys

import jsonschema
import yaml

schema = json.load(open(sys.argv[1]))
try:
    jsonschema.Draft7Validator.check_schema(schema)
except jsonschema.SchemaError as error:
    print(f"schema error: {error.message}")
    sys.exit(2)
validator = jsonschema.Draft7Validator(schema)
status = 0
for path in sys.argv[2:]:
    try:
        document = yaml.safe_load(open(path, encoding="utf-8"))
    except yaml.YAMLError as error:
        print(f"not yaml {path}: {error}")
        status = 2
        continue
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path)
        print(f"invalid {path}: {where}: {errors[0].message}")
    else:
        print(f"ok {path}")
sys.exit(status)
