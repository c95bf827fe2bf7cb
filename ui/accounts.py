"""Settings → Accounts: server accounts (Tiny Tiny RSS, the Google Reader API) next to the local library.

    section = AccountsSection(tidings, tasks, parent)   # a QGroupBox; the Settings dialog adds it as a row

Lists the accounts with what is waiting to be sent and what the server refused (in its words), and
offers Add, Sync now (with progress: "Fetched 2,400 of 10,000 articles"), Retry / Drop refused
changes, and Remove. Everything that touches the network or the library runs through `tasks`
(ui/tasks.py), never on the GUI thread. `changed` is emitted after a sync or a removal, so the
window can reload its feed list.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import NoKeyring, TidingsError


class AccountsSection(QGroupBox):
    changed = Signal()

    def __init__(self, tidings, tasks, parent: QWidget | None = None):
        super().__init__("Accounts", parent)
        self.t = tidings
        self.tasks = tasks
        self._sync_task = None
        self.accounts = []
        self._refused: dict[int, list] = {}  # account id -> its refused changes
        self.sync_events: list = []  # the last sync's AccountProgress, in order
        layout = QVBoxLayout(self)
        intro = QLabel("The local library is always here. An account adds the feeds, folders, read and "
                       "starred state of a server you use elsewhere (Tiny Tiny RSS, FreshRSS, Miniflux, …).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListWidget()
        self.list.setMinimumHeight(70)
        self.list.currentRowChanged.connect(self._selection_changed)
        layout.addWidget(self.list)
        self.refused = QListWidget()  # the selected account's refused changes, in the server's words
        self.refused.setVisible(False)
        self.refused.setWordWrap(True)
        layout.addWidget(self.refused)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add account…")
        self.sync_button = QPushButton("Sync now")
        self.retry_button = QPushButton("Retry refused")
        self.drop_button = QPushButton("Drop refused")
        self.remove_button = QPushButton("Remove")
        for b in (self.add_button, self.sync_button, self.retry_button, self.drop_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self.open_add_dialog)
        self.sync_button.clicked.connect(self.sync_selected)
        self.retry_button.clicked.connect(lambda: self._queue_action(retry=True))
        self.drop_button.clicked.connect(lambda: self._queue_action(retry=False))
        self.remove_button.clicked.connect(self.remove_selected)
        self.add_dialog: AddAccountDialog | None = None
        self.reload()

    # --- listing ------------------------------------------------------------------------------------

    def reload(self, select: int | None = None) -> None:
        def load():
            accounts = self.t.accounts()
            return accounts, {a.id: self.t.account_changes(a.id, rejected=True) for a in accounts if a.rejected}

        self.tasks.run(load, on_done=lambda r: self._show(*r, select=select), context="listing accounts")

    def _show(self, accounts, refused, select=None) -> None:
        current = self.selected()
        keep = select if select is not None else (current.id if current else None)
        self.accounts, self._refused = accounts, refused
        self.list.clear()
        if not accounts:
            item = QListWidgetItem("No accounts: only the local library.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
        for a in accounts:
            line = f"{a.name} — {self.t.account_kinds().get(a.kind, a.kind).split(' (')[0]}, {a.feeds} feed{'s' if a.feeds != 1 else ''}"
            if a.pending:
                line += f", {a.pending} change{'s' if a.pending != 1 else ''} to send"
            if a.rejected:
                line += f", {a.rejected} refused"
            if a.last_error:
                line += f"\n    Last sync failed: {a.last_error}"
            item = QListWidgetItem(line)
            item.setData(Qt.ItemDataRole.UserRole, a.id)
            self.list.addItem(item)
            if a.id == keep:
                self.list.setCurrentItem(item)
        if accounts and self.list.currentRow() < 0:
            self.list.setCurrentRow(0)
        self._selection_changed()

    def selected(self):
        item = self.list.currentItem()
        account_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((a for a in self.accounts if a.id == account_id), None)

    def _selection_changed(self, *_) -> None:
        a = self.selected()
        busy = self._sync_task is not None
        for b in (self.sync_button, self.remove_button):
            b.setEnabled(a is not None and not busy)
        refused = self._refused.get(a.id, []) if a else []
        self.retry_button.setEnabled(bool(refused) and not busy)
        self.drop_button.setEnabled(bool(refused) and not busy)
        self.refused.clear()
        for c in refused:
            what = {"move": "Move to a folder", "subscribe": "Subscribe", "unsubscribe": "Unsubscribe",
                    "read": "Mark read", "unread": "Mark unread", "star": "Star", "unstar": "Unstar"}[c.action]
            first, _, rest = (c.error or "").partition("\n")  # the hint (retry or drop) is the buttons here
            item = QListWidgetItem(f"{what}: {first}")
            item.setToolTip(c.error or "")
            self.refused.addItem(item)
        self.refused.setFixedHeight(min(4, max(1, len(refused))) * (self.refused.fontMetrics().height() * 2 + 6) + 6)
        self.refused.setVisible(bool(refused))

    # --- actions ------------------------------------------------------------------------------------

    def open_add_dialog(self) -> "AddAccountDialog":
        dlg = AddAccountDialog(self.t, self.tasks, self)
        dlg.added.connect(lambda a: (self.reload(select=a.id), self.sync_selected(a.id)))
        dlg.open()
        self.add_dialog = dlg
        return dlg

    def sync_selected(self, account_id: int | None = None) -> None:
        a_id = account_id or (self.selected().id if self.selected() else None)
        if a_id is None or self._sync_task is not None:
            return
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.status.setText("Syncing…")
        self.sync_events = []

        def work(task):
            return self.t.sync_account(a_id, on_progress=task.progress, cancel=task.cancel)

        def progress(p):
            self.sync_events.append(p)
            if p.total:
                self.progress.setRange(0, p.total)
                self.progress.setValue(p.done)
            else:
                self.progress.setRange(0, 0)
            self.status.setText(p.message or p.stage)

        def finish(report=None, error=None):
            self._sync_task = None
            self.progress.setVisible(False)
            if error is not None:
                self.status.setText(error.explain() if isinstance(error, TidingsError) else
                                    "Something went wrong while syncing the account; details are in the log.")
            else:
                text = f"Up to date: {report.new} new article{'s' if report.new != 1 else ''}"
                if report.sent:
                    text += f", {report.sent} change{'s' if report.sent != 1 else ''} sent"
                if report.rejected:
                    text += f", {report.rejected} refused by the server (listed above)"
                self.status.setText(text + ".")
            self.reload()
            self.changed.emit()
            return isinstance(error, TidingsError)

        self._sync_task = self.tasks.run(work, on_done=lambda r: finish(report=r),
                                         on_error=lambda e: finish(error=e), on_progress=progress,
                                         pass_task=True, context="syncing an account")
        self._selection_changed()

    def _queue_action(self, retry: bool) -> None:
        a = self.selected()
        if a is None:
            return
        ids = [c.id for c in self._refused.get(a.id, [])]
        fn = (lambda: self.t.retry_account_changes(a.id)) if retry else (lambda: self.t.drop_account_changes(a.id, ids))
        self.tasks.run(fn, on_done=lambda _: self.reload(), serial=True,
                       context="retrying changes" if retry else "dropping changes")

    def remove_selected(self, confirm: bool = True) -> None:
        a = self.selected()
        if a is None:
            return
        if confirm and QMessageBox.question(
                self, "Remove account",
                f"Remove {a.name} from this computer? Its feeds and articles go from Tidings"
                + (f", and {a.pending} changes not yet sent are lost" if a.pending else "")
                + ". The server keeps everything.") != QMessageBox.StandardButton.Yes:
            return
        self.tasks.run(lambda: self.t.remove_account(a.id), on_done=lambda _: (self.reload(), self.changed.emit()),
                       serial=True, context="removing an account")

    def shutdown(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel.set()


class AddAccountDialog(QDialog):
    """Kind, server address, user name, password; signs in (in the background) before saving."""

    added = Signal(object)  # the Account

    def __init__(self, tidings, tasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.t = tidings
        self.tasks = tasks
        self.setWindowTitle("Add account")
        form = QFormLayout(self)
        self.kind = QComboBox()
        for kind, label in tidings.account_kinds().items():
            self.kind.addItem(label, kind)
        form.addRow("Server type:", self.kind)
        self.server = QLineEdit()
        self.server.setPlaceholderText("https://rss.example.org/tt-rss/")
        form.addRow("Address:", self.server)
        self.kind.currentIndexChanged.connect(self._placeholder)
        self.username = QLineEdit()
        form.addRow("User name:", self.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Password:", self.password)
        self.allow_file = QCheckBox("No keyring here: keep the password in a file only I can read")
        self.allow_file.setVisible(not tidings.credentials.has_keyring())
        form.addRow(self.allow_file)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e")
        self.error.setVisible(False)
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in and add")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _placeholder(self, *_) -> None:
        self.server.setPlaceholderText("https://rss.example.org/api/greader.php  (Miniflux: its address)"
                                       if self.kind.currentData() == "greader" else "https://rss.example.org/tt-rss/")

    def submit(self) -> None:
        kind, server, user, password = (self.kind.currentData(), self.server.text().strip(),
                                        self.username.text().strip(), self.password.text())
        if not server or not user or not password:
            self._fail("Fill in the address, user name and password.")
            return
        allow = self.allow_file.isChecked()
        self.buttons.setEnabled(False)
        self.error.setVisible(False)

        def failed(e):
            self.buttons.setEnabled(True)
            if isinstance(e, NoKeyring):
                self.allow_file.setVisible(True)
            self._fail(e.explain() if isinstance(e, TidingsError) else "Something went wrong; details are in the log.")
            return True

        def done(account):
            self.password.clear()
            self.added.emit(account)
            self.accept()

        self.tasks.run(lambda: self.t.add_account(kind, server, user, password, allow_password_file=allow),
                       on_done=done, on_error=failed, serial=True, context="adding an account")

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(True)
