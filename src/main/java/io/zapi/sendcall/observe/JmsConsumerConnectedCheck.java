package io.zapi.sendcall.observe;

import java.util.Map;

import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.component.jms.JmsConsumer;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.springframework.jms.listener.AbstractMessageListenerContainer;
import org.springframework.jms.listener.DefaultMessageListenerContainer;

/**
 * Readiness: the JMS input's consumer is connected to its broker. Camel's own consumer:jms-queue check only says that
 * the route is started (camel-jms's consumer has no health check of its own), and stays UP while Spring's listener
 * container tries in vain to reconnect to a broker that is gone. This one asks that container: DOWN while it is
 * recovering its connection, UP again once it has reconnected, by itself.
 */
public final class JmsConsumerConnectedCheck extends AbstractHealthCheck {

    private final String routeId;
    private final String queue;

    public JmsConsumerConnectedCheck(String routeId, String queue) {
        super(HealthChecks.GROUP, "jms-consumer");
        this.routeId = routeId;
        this.queue = queue;
    }

    @Override
    public boolean isLiveness() {
        // the container reconnects by itself once the broker is back
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("jms.queue", queue);
        Route route = getCamelContext().getRoute(routeId);
        ServiceStatus status = getCamelContext().getRouteController().getRouteStatus(routeId);
        if (route == null || status == null || !status.isStarted()) {
            // a stopped route takes no message by design; Camel's route check reports it
            builder.detail("route.status", String.valueOf(status)).up();
            return;
        }
        AbstractMessageListenerContainer container = listenerContainer(route);
        if (container instanceof DefaultMessageListenerContainer polling && polling.isRecovering()) {
            builder.down().message("the JMS consumer of queue " + queue + " is not connected to its broker and is "
                                   + "reconnecting: check that the broker of zapi.jms.broker-url is running and "
                                   + "reachable");
        } else if (container != null && !container.isRunning()) {
            builder.down().message("the JMS consumer of queue " + queue + " is not running");
        } else {
            builder.up();
        }
    }

    private static AbstractMessageListenerContainer listenerContainer(Route route) {
        if (route.getConsumer() instanceof JmsConsumer consumer) {
            try {
                return consumer.getListenerContainer();
            } catch (Exception e) {
                return null;
            }
        }
        return null;
    }
}
