"""Reads template.yaml as SAM does, offline, with the preinstalled
aws-sam-translator: `parse` prints the template as JSON (CloudFormation's
short forms made long), `transform` prints what SAM's transform makes of
it. The template comes on stdin. infra/samlocal runs this script."""
import json
import os
import sys

from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The managed-policy loader: the template names no managed policy."""

    def load(self):
        return {}


def transform(template):
    from samtranslator.translator.transform import transform as sam_transform

    # `sam build` uploads each function's artifact and rewrites CodeUri to it.
    for logical_id, res in template.get("Resources", {}).items():
        if res.get("Type") == "AWS::Serverless::Function":
            props = res.setdefault("Properties", {})
            if not str(props.get("CodeUri", "")).startswith("s3://"):
                props["CodeUri"] = "s3://sesame-artifacts/%s.zip" % logical_id
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    return sam_transform(template, {}, NoManagedPolicies())


def main():
    template = yaml_parse(sys.stdin.read())
    if sys.argv[1:] == ["parse"]:
        out = template
    elif sys.argv[1:] == ["transform"]:
        out = transform(template)
    else:
        sys.exit("usage: sam.py parse|transform < template.yaml")
    json.dump(out, sys.stdout, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
