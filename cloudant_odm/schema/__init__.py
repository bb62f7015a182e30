"""The schema layer: what a document class declares beyond its fields (views, Mango and
search indexes, filters, validate_doc_update, design-document options), and the design
documents those declarations make (:func:`generate`). No I/O: deploying them is
:mod:`cloudant_odm.design`'s job, querying them :mod:`cloudant_odm.query`'s."""
