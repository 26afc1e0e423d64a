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

"""The launch file's cyclonedds_config: which file the node gets, and the rmem_max check."""
from pathlib import Path

import pytest

from vru_detector.ros.dds_config import (cyclonedds_environment, receive_buffer_min,
                                         rmem_warning)

CYCLONE = {'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'}

PACKAGE_FILE = str(Path(__file__).resolve().parents[1] / 'config' / 'cyclonedds.xml')


def rmem(tmp_path, value: int) -> str:
    path = tmp_path / 'rmem_max'
    path.write_text(f'{value}\n')
    return str(path)


def test_the_shipped_file_asks_for_4_mb():
    assert receive_buffer_min(PACKAGE_FILE) == 4 * 1024 * 1024


@pytest.mark.parametrize('value', ['false', '', 'False', '0'])
def test_false_leaves_the_environment_alone(value):
    assert cyclonedds_environment(value, PACKAGE_FILE) == {}
    assert rmem_warning(value, PACKAGE_FILE) == ''


def test_true_is_the_package_file_and_a_path_is_taken_as_is(tmp_path):
    assert cyclonedds_environment('true', PACKAGE_FILE) == {
        'CYCLONEDDS_URI': 'file://' + PACKAGE_FILE}
    own = tmp_path / 'mine.xml'
    own.write_text('<CycloneDDS><Domain><Internal><SocketReceiveBufferSize min="default"/>'
                   '</Internal></Domain></CycloneDDS>')
    assert cyclonedds_environment(str(own), PACKAGE_FILE) == {'CYCLONEDDS_URI': f'file://{own}'}
    assert receive_buffer_min(str(own)) is None


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match='no such file.*true for the package file'):
        cyclonedds_environment(str(tmp_path / 'nope.xml'), PACKAGE_FILE)


def test_rmem_max_below_the_minimum_is_named_with_the_sysctl(tmp_path):
    message = rmem_warning('true', PACKAGE_FILE, rmem(tmp_path, 212992))
    assert 'net.core.rmem_max is 212992' in message
    assert 'sudo sysctl -w net.core.rmem_max=4194304' in message
    assert rmem_warning('true', PACKAGE_FILE, rmem(tmp_path, 4194304)) == ''
    assert rmem_warning('true', PACKAGE_FILE, str(tmp_path / 'absent')) == ''  # not Linux


@pytest.mark.parametrize('text, expected', [
    ('4MB', 4194304), ('4096kB', 4194304), ('2MiB', 2097152), ('1000000B', 1000000),
    ('123', 123)])
def test_sizes_are_read_in_cyclonedds_units(tmp_path, text, expected):
    path = tmp_path / 'c.xml'
    path.write_text('<CycloneDDS xmlns="https://cdds.io/config"><Domain Id="any"><Internal>'
                    f'<SocketReceiveBufferSize min="{text}"/></Internal></Domain></CycloneDDS>')
    assert receive_buffer_min(str(path)) == expected


def test_an_unreadable_size_is_refused(tmp_path):
    path = tmp_path / 'c.xml'
    path.write_text('<CycloneDDS><SocketReceiveBufferSize min="4 parsecs"/></CycloneDDS>')
    with pytest.raises(RuntimeError, match='not a size'):
        receive_buffer_min(str(path))


def test_auto_uses_the_package_file_on_cyclonedds_when_the_kernel_allows_it(tmp_path):
    raised, low = rmem(tmp_path, 4194304), str(tmp_path / 'low')
    Path(low).write_text('212992\n')
    assert cyclonedds_environment('auto', PACKAGE_FILE, CYCLONE, raised) == {
        'CYCLONEDDS_URI': 'file://' + PACKAGE_FILE}
    assert rmem_warning('auto', PACKAGE_FILE, raised, CYCLONE) == ''
    # the node would not start with it: leave CycloneDDS alone, and say what is lost and why
    assert cyclonedds_environment('auto', PACKAGE_FILE, CYCLONE, low) == {}
    message = rmem_warning('auto', PACKAGE_FILE, low, CYCLONE)
    assert 'net.core.rmem_max is 212992' in message and 'input_completeness' in message
    assert 'sudo sysctl -w net.core.rmem_max=4194304' in message


@pytest.mark.parametrize('environ', [{}, {'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp'},
                                     {**CYCLONE, 'CYCLONEDDS_URI': 'file:///mine.xml'}])
def test_auto_leaves_other_middleware_and_a_users_own_file_alone(tmp_path, environ):
    raised = rmem(tmp_path, 4194304)
    assert cyclonedds_environment('auto', PACKAGE_FILE, environ, raised) == {}
    assert rmem_warning('auto', PACKAGE_FILE, rmem(tmp_path, 1000), environ) == ''
