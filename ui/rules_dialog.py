"""The Rules dialog: the rules on the left, the one being edited on the right.

A rule is checked as it is typed (RE2 compiles in microseconds, so on the GUI thread); saving,
the preview count and applying to stored articles go through the background tasks.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.rules import ACTION_LABELS, ACTIONS, BadRule, Condition, Rule, validate

FIELD_LABELS = {"any": "Anywhere", "title": "Title", "author": "Author", "text": "Text", "link": "Link", "feed": "Feed name"}
KIND_LABELS = {"keyword": "keyword (any of, comma-separated)", "phrase": "phrase", "regex": "regular expression"}


class ConditionRow(QWidget):
    changed = Signal()
    remove = Signal(object)

    def __init__(self, c: Condition | None = None, parent=None):
        super().__init__(parent)
        c = c or Condition()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.field = QComboBox()
        for k, label in FIELD_LABELS.items():
            self.field.addItem(label, k)
        self.field.setCurrentIndex(max(0, self.field.findData(c.field)))
        self.negate = QComboBox()
        self.negate.addItem("has", False)
        self.negate.addItem("lacks", True)
        self.negate.setCurrentIndex(1 if c.negate else 0)
        self.kind = QComboBox()
        for k, label in KIND_LABELS.items():
            self.kind.addItem(label, k)
        self.kind.setCurrentIndex(max(0, self.kind.findData(c.kind)))
        self.value = QLineEdit(c.value)
        self.value.setPlaceholderText("e.g. bitcoin, crypto")
        self.value.setMinimumWidth(180)
        self.value.setAccessibleName("Condition value")
        drop = QToolButton()
        drop.setText("✕")
        drop.setToolTip("Remove this condition")
        drop.clicked.connect(lambda: self.remove.emit(self))
        for w in (self.field, self.negate, self.kind):
            w.currentIndexChanged.connect(self.changed)
        self.value.textChanged.connect(self.changed)
        for w in (self.field, self.negate, self.kind):
            lay.addWidget(w)
        lay.addWidget(self.value, 1)
        lay.addWidget(drop)

    def condition(self) -> Condition:
        return Condition(self.field.currentData(), self.kind.currentData(), self.value.text(),
                         bool(self.negate.currentData()))


class RulesDialog(QDialog):
    """`tidings` is the facade, `tasks` the window's background helper. `feeds`: (id, title) pairs,
    `folders`: folder paths (for the scope)."""

    rules_changed = Signal()

    def __init__(self, tidings, tasks, feeds: list[tuple[int, str]], folders: list[str], parent=None):
        super().__init__(parent)
        self.t = tidings
        self.tasks = tasks
        self.setWindowTitle("Rules")
        self.resize(980, 560)
        self.rules: list[Rule] = []
        self.editing: Rule | None = None
        self.rows: list[ConditionRow] = []

        self.list = QListWidget()
        self.list.setObjectName("rulesList")
        self.list.setAccessibleName("Rules")
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(self._select)
        self.list.itemChanged.connect(self._toggled)
        new = QPushButton("New rule")
        new.clicked.connect(self.new_rule)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_rule)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.list, 1)
        lb = QHBoxLayout()
        lb.addWidget(new)
        lb.addWidget(self.delete_button)
        lb.addStretch(1)
        ll.addLayout(lb)

        editor = QWidget()
        form = QFormLayout(editor)
        self.name = QLineEdit()
        self.name.setObjectName("ruleName")
        self.name.setPlaceholderText("e.g. No crypto")
        self.name.textChanged.connect(self._check)
        form.addRow("Name:", self.name)
        self.match = QComboBox()
        self.match.addItem("all of these hold", "all")
        self.match.addItem("any of these holds", "any")
        self.match.currentIndexChanged.connect(self._check)
        form.addRow("When:", self.match)
        self.conditions = QVBoxLayout()
        self.conditions.setSpacing(4)
        cond_box = QWidget()
        cb = QVBoxLayout(cond_box)
        cb.setContentsMargins(0, 0, 0, 0)
        cb.addLayout(self.conditions)
        add_cond = QPushButton("Add condition")
        add_cond.clicked.connect(lambda: self.add_condition())
        cb.addWidget(add_cond, 0, Qt.AlignmentFlag.AlignLeft)
        form.addRow("Conditions:", cond_box)
        self.scope = QComboBox()
        self.scope.addItem("Every feed", ("all", None))
        for path in folders:
            self.scope.addItem(f"Folder: {path}", ("folder", path))
        for fid, title in feeds:
            self.scope.addItem(f"Feed: {title}", ("feed", fid))
        self.scope.currentIndexChanged.connect(self._check)
        form.addRow("In:", self.scope)
        acts = QWidget()
        grid = QGridLayout(acts)
        grid.setContentsMargins(0, 0, 0, 0)
        self.actions_boxes: dict[str, QCheckBox] = {}
        for n, a in enumerate(ACTIONS):
            box = QCheckBox(ACTION_LABELS[a].capitalize())
            box.setObjectName(f"action_{a}")
            box.toggled.connect(self._check)
            self.actions_boxes[a] = box
            grid.addWidget(box, n // 3, n % 3)
        self.actions_boxes["hide"].setToolTip("Kept in the library, shown only in the Hidden view")
        self.actions_boxes["notify"].setToolTip("A desktop notification when a new article matches")
        form.addRow("Then:", acts)
        self.enabled = QCheckBox("On")
        self.enabled.setChecked(True)
        form.addRow("", self.enabled)
        self.error = QLabel("")
        self.error.setObjectName("ruleError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b3261e")
        form.addRow(self.error)
        self.preview = QLabel("")
        self.preview.setObjectName("rulePreview")
        self.preview.setWordWrap(True)
        form.addRow(self.preview)
        eb = QHBoxLayout()
        self.save_button = QPushButton("Save rule")
        self.save_button.setObjectName("saveRule")
        self.save_button.clicked.connect(self.save_rule)
        self.preview_button = QPushButton("Preview on stored articles")
        self.preview_button.clicked.connect(self.preview_rule)
        self.apply_button = QPushButton("Apply to stored articles")
        self.apply_button.setToolTip("New articles get the rules as they arrive; this applies it to those already here")
        self.apply_button.clicked.connect(self.apply_rule)
        for b in (self.save_button, self.preview_button, self.apply_button):
            eb.addWidget(b)
        eb.addStretch(1)
        form.addRow(eb)

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(editor)
        split.setSizes([300, 680])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addWidget(split, 1)
        outer.addWidget(buttons)
        self.new_rule()
        self.reload()

    # --- the list ---

    def reload(self, select: int | None = None) -> None:
        self.tasks.run(self.t.rules, on_done=lambda rules: self._loaded(rules, select), context="loading the rules")

    def _loaded(self, rules: list[Rule], select: int | None) -> None:
        self.rules = rules
        self.list.blockSignals(True)
        self.list.clear()
        for r in rules:
            item = QListWidgetItem(f"{r.name}\n{r.describe()}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if r.enabled else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if select is not None:
            row = next((i for i, r in enumerate(rules) if r.id == select), -1)
            self.list.setCurrentRow(row)
        self.delete_button.setEnabled(bool(rules))

    def _select(self, row: int) -> None:
        if 0 <= row < len(self.rules):
            self.edit(self.rules[row])

    def _toggled(self, item: QListWidgetItem) -> None:
        rule = next((r for r in self.rules if r.id == item.data(Qt.ItemDataRole.UserRole)), None)
        if rule is None:
            return
        from dataclasses import replace

        on = item.checkState() == Qt.CheckState.Checked
        self._store(lambda: self.t.update_rule(replace(rule, enabled=on)), select=rule.id)

    # --- the editor ---

    def new_rule(self) -> None:
        self.list.setCurrentRow(-1)
        self.edit(None)

    def edit(self, rule: Rule | None) -> None:
        self.editing = rule
        self.name.setText(rule.name if rule else "")
        self.match.setCurrentIndex(1 if rule and rule.match == "any" else 0)
        for row in list(self.rows):
            self._remove_row(row)
        for c in (rule.conditions if rule else (Condition(),)):
            self.add_condition(c)
        scope = ("all", None) if rule is None or rule.scope == "all" else \
            (rule.scope, rule.feed_id if rule.scope == "feed" else rule.folder)
        self.scope.setCurrentIndex(max(0, self.scope.findData(scope)))
        for a, box in self.actions_boxes.items():
            box.setChecked(bool(rule and a in rule.actions))
        self.enabled.setChecked(rule.enabled if rule else True)
        self.preview.setText("")
        self.error.setText("")
        self.save_button.setText("Save rule" if rule else "Add rule")

    def add_condition(self, c: Condition | None = None) -> ConditionRow:
        row = ConditionRow(c)
        row.changed.connect(self._check)
        row.remove.connect(self._remove_row)
        self.rows.append(row)
        self.conditions.addWidget(row)
        return row

    def _remove_row(self, row: ConditionRow) -> None:
        self.rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        self._check()

    def current(self) -> Rule:
        kind, value = self.scope.currentData() or ("all", None)
        return Rule(name=self.name.text().strip(), conditions=tuple(r.condition() for r in self.rows),
                    actions=tuple(a for a, b in self.actions_boxes.items() if b.isChecked()),
                    match=self.match.currentData(), scope=kind, feed_id=value if kind == "feed" else None,
                    folder=value if kind == "folder" else None, enabled=self.enabled.isChecked(),
                    id=self.editing.id if self.editing else None)

    def _check(self, *_) -> Rule | None:
        """The rule as typed, or None with the reason shown (a bad pattern says RE2's words)."""
        self.preview.setText("")  # a count of another version of the rule would mislead
        try:
            rule = self.current()
            validate(rule)
        except BadRule as e:
            self.error.setText(str(e))
            self.save_button.setEnabled(False)
            return None
        self.error.setText("")
        self.save_button.setEnabled(True)
        return rule

    def save_rule(self) -> None:
        rule = self._check()
        if rule is None:
            return
        if rule.id is None:
            self._store(lambda: self.t.add_rule(rule).id, select=None)
        else:
            self._store(lambda: self.t.update_rule(rule), select=rule.id)

    def delete_rule(self) -> None:
        if self.editing is None:
            return
        rid = self.editing.id
        self._store(lambda: self.t.remove_rule(rid), select=None)
        self.new_rule()

    def _store(self, fn, select: int | None) -> None:
        def done(value):
            self.reload(select if select is not None else value if isinstance(value, int) else None)
            self.rules_changed.emit()

        def failed(e):
            if isinstance(e, BadRule):
                self.error.setText(str(e))
                return True
            return False

        self.tasks.run(fn, on_done=done, on_error=failed, serial=True, context="saving the rule")

    def preview_rule(self) -> None:
        rule = self._check()
        if rule is None:
            return
        self.preview.setText("Counting…")  # after _check, which clears it
        self.tasks.run(lambda: self.t.apply_rules(rules=[rule], dry_run=True),
                       on_done=lambda r: self.preview.setText("Stored articles: " + r.describe()),
                       context="previewing the rule")

    def apply_rule(self) -> None:
        rule = self._check()
        if rule is None:
            return
        self.preview.setText("Applying…")

        def done(r):
            self.preview.setText("Applied. " + r.describe())
            self.rules_changed.emit()

        self.tasks.run(lambda: self.t.apply_rules(rules=[rule]), on_done=done, serial=True,
                       context="applying the rule")
