"""The object store's contract: key and name rules, ObjectInfo, the errors and the protocols
the core is given a store through (fin_assets.resources.object_store implements them)."""
