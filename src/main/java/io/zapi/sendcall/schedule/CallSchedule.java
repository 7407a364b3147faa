package io.zapi.sendcall.schedule;

import java.time.Instant;

import org.apache.camel.Exchange;

import io.zapi.sendcall.files.FilesInProgress;
import io.zapi.sendcall.inbox.FileReport;
import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.InvalidRequestException;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.records.Timestamps;

/**
 * The pipeline's step that says whether a valid request is called now (routes/send-call.camel.yaml): by its file's
 * control (paused, cancelled), its notBefore and the calling hours in the recipient's time zone. A row of an inbox file
 * that may not be called now waits (WaitingRows); over HTTP and JMS such a request is rejected with the reason, so
 * that no caller waits for hours.
 */
public class CallSchedule {

    private final CallingHours hours;
    private final FilesInProgress files;
    private final WaitingRows waitingRows;

    public CallSchedule(CallingHours hours, FilesInProgress files, WaitingRows waitingRows) {
        this.hours = hours;
        this.files = files;
        this.waitingRows = waitingRows;
    }

    public void check(Exchange exchange) throws InvalidRequestException, RowDeferredException, FileCancelledException {
        CallRequest request = exchange.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class);
        String keptName = FileReport.keptNameOf(exchange);
        Instant now = Instant.now();
        if (keptName == null) {
            checkNow(request, now);
            return;
        }
        FilesInProgress.Control control = files.control(keptName);
        if (control == FilesInProgress.Control.CANCELLED) {
            throw new FileCancelledException(keptName);
        }
        Instant due = now;
        String reason = null;
        if (request.notBefore() != null && request.notBefore().isAfter(now)) {
            due = request.notBefore();
            reason = "waits for its notBefore " + Timestamps.format(due);
        }
        CallingHours.Window window = hours.check(request.phone(), due);
        if (window.never()) {
            throw new InvalidRequestException(window.reason());
        }
        if (!window.open()) {
            due = window.opensAt();
            reason = "outside calling hours " + hours.describe() + ": waits until " + Timestamps.format(due);
        }
        if (control == FilesInProgress.Control.PAUSED) {
            reason = "its file is paused" + (reason != null ? "; then it " + reason : "");
        }
        if (reason != null) {
            waitingRows.defer(exchange, keptName, due, reason);
            throw new RowDeferredException(reason, due);
        }
    }

    /** HTTP and JMS: placed now or rejected, with the reason and when it could be placed. */
    private void checkNow(CallRequest request, Instant now) throws InvalidRequestException {
        if (request.notBefore() != null && request.notBefore().isAfter(now)) {
            throw new InvalidRequestException("notBefore " + Timestamps.format(request.notBefore()) + " is later than "
                                              + "now: over HTTP and JMS a request is placed at once or rejected (a row "
                                              + "of an inbox file waits for its notBefore)");
        }
        CallingHours.Window window = hours.check(request.phone(), now);
        if (window.never()) {
            throw new InvalidRequestException(window.reason());
        }
        if (!window.open()) {
            throw new InvalidRequestException("outside calling hours " + hours.describe() + " in the recipient's "
                                              + "time zone: not called; the window opens at "
                                              + Timestamps.format(window.opensAt())
                                              + " (over HTTP and JMS a request is placed at once or rejected; a row "
                                              + "of an inbox file waits for the window)");
        }
    }
}
