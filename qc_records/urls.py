from django.urls import path

from qc_records.views import ledger, oos, records, registers, samples, specs

app_name = "qc_records"

urlpatterns = [
    path("", ledger.qc_index, name="index"),
    # specifications
    path("specifications/", specs.spec_list, name="spec_list"),
    path("specifications/new/", specs.spec_create, name="spec_create"),
    path("specifications/<int:pk>/", specs.spec_detail, name="spec_detail"),
    path("specifications/<int:pk>/edit/", specs.spec_edit, name="spec_edit"),
    path("specifications/<int:pk>/items/", specs.spec_item_add, name="spec_item_add"),
    path("specifications/<int:pk>/approve/", specs.spec_approve, name="spec_approve"),
    path("specifications/<int:pk>/new-version/", specs.spec_new_version, name="spec_new_version"),
    path("specifications/<int:pk>/void/", specs.spec_void, name="spec_void"),
    path("specification-items/<int:pk>/edit/", specs.spec_item_edit, name="spec_item_edit"),
    path("specification-items/<int:pk>/remove/", specs.spec_item_remove, name="spec_item_remove"),
    # registers
    path("instruments/", registers.instrument_list, name="instrument_list"),
    path("instruments/new/", registers.instrument_create, name="instrument_create"),
    path("instruments/<int:pk>/", registers.instrument_detail, name="instrument_detail"),
    path("instruments/<int:pk>/edit/", registers.instrument_edit, name="instrument_edit"),
    path("reagents/", registers.reagent_list, name="reagent_list"),
    path("reagents/new/", registers.reagent_create, name="reagent_create"),
    path("reagents/<int:pk>/", registers.reagent_detail, name="reagent_detail"),
    path("reagents/<int:pk>/edit/", registers.reagent_edit, name="reagent_edit"),
    # samples and records
    path("samples/", samples.sample_list, name="sample_list"),
    path("samples/new/", samples.sample_create, name="sample_create"),
    path("samples/<int:pk>/", samples.sample_detail, name="sample_detail"),
    path("samples/<int:pk>/edit/", samples.sample_edit, name="sample_edit"),
    path("samples/<int:pk>/start/", samples.record_start, name="record_start"),
    path("records/<int:pk>/", records.record_detail, name="record_detail"),
    path("records/<int:pk>/edit/", records.record_edit, name="record_edit"),
    path("records/<int:pk>/history/", records.record_history, name="record_history"),
    path("records/<int:pk>/raw/", records.record_raw, name="record_raw"),
    path("records/<int:pk>/submit/", records.record_submit, name="record_submit"),
    path("records/<int:pk>/review/", records.record_review, name="record_review"),
    path("records/<int:pk>/sign-tested/", records.record_sign_tested, name="record_sign_tested"),
    path("records/<int:pk>/approve/", records.record_approve, name="record_approve"),
    path("records/<int:pk>/send-back/", records.record_send_back, name="record_send_back"),
    path("records/<int:pk>/void/", records.record_void, name="record_void"),
    path("records/<int:pk>/purge/", records.record_purge, name="record_purge"),
    path("records/<int:pk>/reopen-request/", records.record_reopen_request, name="record_reopen_request"),
    path("records/<int:pk>/reopen/", records.record_reopen, name="record_reopen"),
    path("records/<int:pk>/files/", records.attachment_add, name="attachment_add"),
    path("records/<int:pk>/discarded/", records.discarded_run_add, name="discarded_run_add"),
    path("records/<int:pk>/report.pdf", records.record_report, name="record_report"),
    path("files/<int:pk>/", records.attachment_download, name="attachment_download"),
    path("files/<int:pk>/remove/", records.attachment_remove, name="attachment_remove"),
    path("batches/<int:batch_pk>/", records.batch_qc, name="batch_qc"),
    # OOS
    path("oos/", oos.oos_list, name="oos_list"),
    path("oos/<int:pk>/", oos.oos_detail, name="oos_detail"),
    path("oos/<int:pk>/findings/", oos.oos_update, name="oos_update"),
    path("oos/<int:pk>/phase-two/", oos.oos_phase_two, name="oos_phase_two"),
    path("oos/<int:pk>/close/", oos.oos_close, name="oos_close"),
    # ledger and archive
    path("ledger/", ledger.ledger, name="ledger"),
    path("ledger/export.csv", ledger.ledger_export, name="ledger_export"),
    path("ledger/archive/", ledger.ledger_archive, name="ledger_archive"),
    path("ledger/archives/<int:pk>/reopen/", ledger.ledger_reopen, name="ledger_reopen"),
]
