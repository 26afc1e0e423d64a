# Copyright 2026 vru_detector maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""ROS parameter descriptors from the ROS-free parameter table (type, range, read-only)."""
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

from .params import ParamSpec

_PARAM_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
                float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """Build the ROS parameter descriptor of ``spec``: type, description, range, read-only."""
    desc = ParameterDescriptor(name=spec.name, type=_PARAM_TYPES[type(spec.default)],
                               description=spec.description, read_only=spec.read_only)
    if spec.choices:
        desc.additional_constraints = f'one of {list(spec.choices)}'
    if spec.bounds is not None and isinstance(spec.default, float):
        desc.floating_point_range = [FloatingPointRange(
            from_value=float(spec.bounds[0]), to_value=float(spec.bounds[1]), step=0.0)]
    elif spec.bounds is not None and isinstance(spec.default, int):
        desc.integer_range = [IntegerRange(
            from_value=int(spec.bounds[0]), to_value=int(spec.bounds[1]), step=1)]
    return desc
