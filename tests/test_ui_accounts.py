"""Settings → Accounts, driving the real widgets against the Google Reader stand-in over HTTP."""

from __future__ import annotations

import pytest

from tests.support.accounts import MemoryKeyring
from tests.support.greader_standin import GReaderStandin

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def gr():
    with GReaderStandin("freshrss") as s:
        yield s


def test_add_sync_refused_and_remove_from_settings(qtbot, ui_tidings, open_window, gr):
    from app.accounts.credentials import CredentialStore

    ui_tidings.credentials = CredentialStore(ui_tidings.data_dir, backend=MemoryKeyring())
    feed = gr.add_feed("https://example.org/n.xml", "Synced News", folder="World")
    gr.add_entries(feed, 1200)
    w = open_window()
    dlg = w.settings_dialog()
    section = dlg.accounts
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=5000)
    assert "No accounts" in section.list.item(0).text()

    add = section.open_add_dialog()
    add.kind.setCurrentIndex(add.kind.findData("greader"))
    add.server.setText(gr.url)
    add.username.setText(gr.user)
    add.password.setText("wrong-password-1")
    add.submit()
    qtbot.waitUntil(lambda: add.error.isVisible(), timeout=10000)
    assert "refused the user name or password" in add.error.text() and "wrong-password-1" not in add.error.text()

    add.password.setText(gr.password)
    add.submit()  # signs in, adds, then syncs at once (in the background, with progress)
    qtbot.waitUntil(lambda: not add.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: section.progress.isVisible() or section._sync_task is None, timeout=5000)
    qtbot.waitUntil(lambda: section._sync_task is None, timeout=60000)
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=10000)
    counted = [p for p in section.sync_events if p.stage == "articles" and p.total]
    assert counted and counted[-1].done == counted[-1].total == 1200 and len(counted) > 2
    assert "1200 new articles" in section.status.text()
    assert "1 feed" in section.list.item(0).text()
    # the window shows the account's feed like any other
    qtbot.waitUntil(lambda: any(f.title == "Synced News" for f in ui_tidings.feeds()), timeout=5000)

    # a change the server refuses is shown in its words, and can be dropped
    [f] = ui_tidings.feeds()
    del gr.feeds[feed]
    ui_tidings.move_feed(f.id, "Elsewhere")
    section.sync_selected()
    qtbot.waitUntil(lambda: section._sync_task is None, timeout=30000)
    qtbot.waitUntil(lambda: w.tasks.active == 0, timeout=10000)
    assert section.refused.isVisible() and "refused to move the feed" in section.refused.item(0).text()
    assert section.drop_button.isEnabled()
    section.drop_button.click()
    qtbot.waitUntil(lambda: w.tasks.active == 0 and not section.refused.isVisible(), timeout=10000)

    section.remove_selected(confirm=False)
    qtbot.waitUntil(lambda: w.tasks.active == 0 and not section.accounts, timeout=10000)
    assert ui_tidings.accounts() == [] and ui_tidings.feeds() == []
    dlg.reject()


def test_without_a_keyring_the_dialog_says_so_and_offers_the_file(qtbot, ui_tidings, open_window, gr):
    import stat

    if ui_tidings.credentials.has_keyring():
        pytest.skip("this machine has an OS keyring")
    w = open_window()
    section = w.settings_dialog().accounts
    add = section.open_add_dialog()
    assert add.allow_file.isVisible() and not add.allow_file.isChecked()
    add.kind.setCurrentIndex(add.kind.findData("greader"))
    add.server.setText(gr.url)
    add.username.setText(gr.user)
    add.password.setText(gr.password)
    add.submit()
    qtbot.waitUntil(lambda: add.error.isVisible(), timeout=10000)
    assert "no keyring" in add.error.text() and ui_tidings.accounts() == []
    add.allow_file.setChecked(True)
    add.submit()
    qtbot.waitUntil(lambda: not add.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: section._sync_task is None and w.tasks.active == 0, timeout=30000)
    assert len(ui_tidings.accounts()) == 1
    path = ui_tidings.data_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
