"""Fixtures of the user-image tests: the image is built once per session
(`make -s user`, like tests/conftest.py's kernel_elf), its hosted Linux
variant once from the same objects."""

import os
import subprocess

import pytest

from tests.conftest import ROOT
from user.lib.image import build_dir, user_image

KARCH = os.environ.get('KARCH', 'x86_64')


@pytest.fixture(scope='session')
def user_elf():
    """Builds the user image once per session (make user); returns its path."""
    proc = subprocess.Popen(['make', '-s', 'user'], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    if proc.returncode != 0:
        pytest.fail('make user failed:\n%s' % out.decode('utf-8', 'replace')[-4000:])
    return os.path.join(build_dir(KARCH), 'elyz-user.elf')


@pytest.fixture(scope='session')
def user_program(user_elf):
    """The FreestandingProgram the image was built from."""
    return user_image(build_dir(KARCH))


@pytest.fixture(scope='session')
def hosted(user_program, tmpdir_factory):
    """The image relinked for Linux (tests/user/hosted.py); returns its path."""
    from tests.user.hosted import build_hosted
    return build_hosted(user_program, str(tmpdir_factory.mktemp('user-hosted')))
