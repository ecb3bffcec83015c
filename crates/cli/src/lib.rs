//! The cairn command-line tool: the scenario runner and its helpers.
