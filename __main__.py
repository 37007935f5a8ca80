"""airstack: Apache Airflow 3 on AWS. One program; the stack's config says what differs."""

import pulumi

from components.config import ConfigError
from components.platform import AirflowPlatform
from components.stack_config import current_stack_config

try:
    config = current_stack_config()
except ConfigError as error:
    # RunError ends the program with just this message: no traceback for a config mistake.
    raise pulumi.RunError(str(error)) from None

platform = AirflowPlatform("airstack", config)
for key, value in platform.outputs.items():
    pulumi.export(key, value)
