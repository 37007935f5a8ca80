"""The airstack policy pack: `pulumi preview --policy-pack policies --policy-pack-config policies/<env>.json`.

Only builds the pack; ``PolicyPack`` serves the Pulumi engine until it is stopped. The rules live in
``airstack_policies`` so that tests and ``airstack plan`` can evaluate them in-process.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from airstack_policies import PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
