package io.zapi.sendcall.pipeline;

/**
 * A request came again (a JMS redelivery) while its first delivery was still in flight on another replica, and the
 * module stopped before that one ended or its replica was taken for gone: the request is left for a later delivery.
 */
public class EarlierDeliveryInFlightException extends IllegalStateException {

    public EarlierDeliveryInFlightException(String correlationId, long nodeTimeoutMs) {
        super("correlationId=" + correlationId + " is still in flight on another replica and the module is stopping: "
              + "not placed here; it is decided once that replica records it or its heartbeat is older than "
              + nodeTimeoutMs + " ms (zapi.ledger.node-timeout-ms)");
    }
}
