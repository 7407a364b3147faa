package io.zapi.sendcall.zapi;

/**
 * The shared rate limit's database could not be reached before the module stopped: the call was not placed, as no
 * call goes out without its turn among all replicas.
 */
public class RateLimitUnavailableException extends RuntimeException {

    public RateLimitUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
