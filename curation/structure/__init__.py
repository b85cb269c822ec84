"""Research deliverables built from document-level results: one row per patient.

``curation structure oncology`` turns the oncology extraction and response records of a
patient's reports into a patient table and a timeline (:mod:`~curation.structure.patients`),
pre-screens patients against trial eligibility criteria written in ``params.yaml``
(:mod:`~curation.structure.criteria`) and scores the table against the synthetic corpus's
patient-level truth (:mod:`~curation.structure.evaluation`).
"""
