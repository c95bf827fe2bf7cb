"""Feed and folder actions: Add feed, OPML in and out, and what the sources pane's right-click
and drag and drop ask for (rename, move, edit the address, offline options, unsubscribe; new,
rename and delete folders). Each write runs on the background helper and hands the `Changes`
it returns to the window, which gives each pane its part.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from ui.dialogs import AddFeedDialog
from ui.view import View

UNREAD = View.smart("unread")


class FeedActions(QObject):
    """The sources pane's delegate. `window` is the main window (dialog parent, the panes, sync)."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.t = window.t
        self.tasks = window.tasks

    def extend_menu(self, menu, view) -> None:
        from ui.power import add_power_menu_items

        add_power_menu_items(self.w, menu, str(view))

    # what the pane's menus ask of the window itself
    def mark_all_read(self, view) -> None:
        self.w.mark_all_read(view)

    def start_sync(self, feed_ids=None) -> None:
        self.w.start_sync(feed_ids)

    def add_feed_dialog(self, url: str = "") -> AddFeedDialog:
        dlg = AddFeedDialog(self.t, self.tasks, self._folders(), self.w, initial_url=url,
                            known_urls={f.url for f in self.w.sources.feeds})
        dlg.subscribe_requested.connect(self.subscribe)
        dlg.open()
        self.add_dialog = dlg
        return dlg

    def _folders(self) -> list[str]:
        return self.w.sources.folders()

    def subscribe(self, feed_url: str, title: str = "", folder: str | None = None) -> None:
        def done(feed):
            self.w.jobs.say(f"Subscribed to {feed.title}. Fetching its articles…")
            self.w.refresh_feeds()
            self.w.start_sync([feed.id])

        self.tasks.run(lambda: self.t.subscribe(feed_url, folder=folder, title=title or None), on_done=done,
                       serial=True, context="subscribing")

    def import_opml_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Import subscriptions", "", "OPML files (*.opml *.xml);;All files (*)")
        if path:
            self.import_opml(path)

    def import_opml(self, path: str) -> None:
        def done(n):
            self.w.jobs.say(f"Imported {n} new feed{'s' if n != 1 else ''}. Syncing them…")
            self.w.refresh_feeds()
            self.w.start_sync()

        self.tasks.run(lambda: self.t.import_opml(path), on_done=done, serial=True, context="importing OPML")

    def export_opml_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Export subscriptions", "tidings.opml", "OPML files (*.opml)")
        if path:
            self.export_opml(path)

    def export_opml(self, path: str) -> None:
        def work():
            Path(path).write_text(self.t.export_opml(), encoding="utf-8")
            self.t.export_rules_beside(path)  # feeds.rules.json beside feeds.opml
            return path

        self.tasks.run(work, on_done=lambda p: self.w.jobs.say(f"Exported your feeds to {p}."),
                       context="exporting OPML")

    def _feed(self, fid: int):
        return self.w.sources.feed(fid)

    def _write(self, fn, context: str, on_done=None) -> None:
        """A feed or folder write in the background; the panes follow what it changed."""
        def done(changes):
            self.w.apply_changes(changes)
            if on_done is not None:
                on_done(changes)

        self.tasks.run(fn, on_done=done, serial=True, context=context)

    def prompt_rename(self, fid: int) -> None:
        f = self._feed(fid)
        title, ok = QInputDialog.getText(self.w, "Rename feed", "Name:", text=f.title if f else "")
        if ok:
            self.rename_feed(fid, title)

    def rename_feed(self, fid: int, title: str) -> None:
        self._write(lambda: self.t.rename_feed(fid, title), "renaming the feed")

    def prompt_edit_url(self, fid: int) -> None:
        f = self._feed(fid)
        url, ok = QInputDialog.getText(self.w, "Edit feed address", "The feed's address (the next sync fetches it "
                                       "from there):", text=f.url if f else "")
        if ok and url.strip() and (f is None or url.strip() != f.url):
            self.set_feed_url(fid, url)

    def set_feed_url(self, fid: int, url: str) -> None:
        self._write(lambda: self.t.set_feed_url(fid, url), "changing the feed's address",
                    on_done=lambda _: self.w.start_sync([fid]))

    def set_feed_option(self, fid: int, option: str, on: bool) -> None:
        """Offline reading per feed: the next sync fetches (or skips) its pages and images."""
        self._write(lambda: self.t.set_feed_options(fid, **{option: on}), "changing the feed's offline reading")

    def prompt_move(self, fid: int) -> None:
        f = self._feed(fid)
        folders = [""] + self._folders()
        current = folders.index(f.folder) if f and f.folder in folders else 0
        folder, ok = QInputDialog.getItem(self.w, "Move to folder", "Folder (empty: none; / to nest):", folders,
                                          current, True)
        if ok:
            self.move_feed(fid, folder)

    def move_feed(self, fid: int, folder: str | None) -> None:
        self._write(lambda: self.t.move_feed(fid, folder), "moving the feed")

    def prompt_new_folder(self, parent: str | None) -> None:
        """A folder exists while a feed is in it: name it, then pick the feed to put there first."""
        name, ok = QInputDialog.getText(self.w, "New folder", "Folder name" + (f" (inside {parent})" if parent else "")
                                        + ":")
        name = name.strip("/ ") if ok else ""
        if not name:
            return
        path = f"{parent}/{name}" if parent else name
        feeds = sorted(self.w.sources.feeds, key=lambda f: f.title.lower())
        if not feeds:
            self.w.show_info("Add a feed first: a folder holds feeds.")
            return
        titles = [f.title for f in feeds]
        cur = self.w.view.feed_id if self.w.view is not None and self.w.view.is_feed else None
        start = next((i for i, f in enumerate(feeds) if f.id == cur), 0)
        title, ok = QInputDialog.getItem(self.w, "New folder", f"Move a feed into “{name}” (drag more onto it later):",
                                         titles, start, False)
        if ok:
            self.move_feed(feeds[titles.index(title)].id, path)

    def prompt_rename_folder(self, path: str) -> None:
        new, ok = QInputDialog.getText(self.w, "Rename folder", "Name (use / to nest):", text=path)
        if ok and new.strip("/ ") and new.strip("/ ") != path:
            self.rename_folder(path, new)

    def rename_folder(self, path: str, new: str) -> None:
        was = View.folder(path)
        new_path = new.strip("/ ")

        def done(_):
            if self.w.view == was:  # reading the folder: go on reading it under its new name
                self.w.open_view(View.folder(new_path), keep_article=True)

        self._write(lambda: self.t.rename_folder(path, new_path), "renaming the folder", on_done=done)

    def prompt_delete_folder(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        answer = QMessageBox.question(
            self.w, "Delete folder",
            f"Delete the folder “{path}”?\n\nIts feeds stay subscribed and move to "
            f"{('“' + parent + '”') if parent else 'the top level'}.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_folder(path)

    def delete_folder(self, path: str) -> None:
        def done(_):
            if self.w.view == View.folder(path):
                self.w.select_source(UNREAD)

        self._write(lambda: self.t.remove_folder(path), "deleting the folder", on_done=done)

    def prompt_unsubscribe(self, fid: int) -> None:
        f = self._feed(fid)
        name = f.title if f else "this feed"
        answer = QMessageBox.question(
            self.w, "Unsubscribe",
            f"Unsubscribe from “{name}”?\n\nIts articles will be removed from Tidings (starred ones too).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.unsubscribe(fid)

    def unsubscribe(self, fid: int) -> None:
        def done(changes):
            self.w.reader.forget(view=str(View.feed(fid)))
            if self.w.view == View.feed(fid):
                self.w.view = None
                self.w.middle.clear()
                self.w.reader.show_placeholder()
                self.w.select_source(UNREAD)
            self.w.apply_changes(changes)

        self.tasks.run(lambda: self.t.remove_feed(fid), on_done=done, serial=True, context="unsubscribing")
