package io.zapi.sendcall.schedule;

import com.google.i18n.phonenumbers.NumberParseException;
import com.google.i18n.phonenumbers.PhoneNumberToTimeZonesMapper;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.Phonenumber.PhoneNumber;

import java.time.DateTimeException;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.zone.ZoneOffsetTransition;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * When a number may be called ({@code zapi.calling-hours}, {@code zapi.calling-days}), in the recipient's time zone as
 * libphonenumber maps it from the number; {@code zapi.timezone} when the number maps to no zone. A number spanning
 * several zones is callable only when the window holds in all of them at once.
 *
 * <p>A window is one occurrence per allowed day, from its start to its end (exclusive), in the zone's wall clock. A
 * window that crosses midnight belongs to the day it starts on. Each boundary is the first instant the zone's clock
 * shows that time or later: a start inside a DST gap opens when the gap ends, a time repeated by a DST overlap counts
 * at its first occurrence.
 */
public final class CallingHours {

    /** How far ahead a window is looked for before a number is declared never callable. */
    public static final Duration HORIZON = Duration.ofDays(8);

    private static final Pattern HOURS = Pattern.compile("(\\d{2}):(\\d{2})\\s*-\\s*(\\d{2}):(\\d{2})");
    private static final List<DayOfWeek> WEEK = List.of(DayOfWeek.values());

    private final LocalTime start;
    private final LocalTime end;
    /** Days from a window's start date to its end date: 0 same day, 1 when it ends at or after the next midnight. */
    private final int endDayOffset;
    private final boolean wholeDay;
    private final String hoursText;
    private final Set<DayOfWeek> days;
    private final String daysText;
    private final ZoneId fallbackZone;

    private CallingHours(LocalTime start, LocalTime end, int endDayOffset, boolean wholeDay, String hoursText,
                         Set<DayOfWeek> days, String daysText, ZoneId fallbackZone) {
        this.start = start;
        this.end = end;
        this.endDayOffset = endDayOffset;
        this.wholeDay = wholeDay;
        this.hoursText = hoursText;
        this.days = days;
        this.daysText = daysText;
        this.fallbackZone = fallbackZone;
    }

    /**
     * @param hours        {@code zapi.calling-hours}: {@code HH:mm-HH:mm}, end exclusive, may be {@code 24:00} or earlier
     *                     than the start (crosses midnight); empty = the whole day
     * @param days         {@code zapi.calling-days}: {@code MON-FRI}, {@code MON,WED,FRI}, {@code SAT-MON}; empty = every day
     * @param fallbackZone {@code zapi.timezone}: for numbers libphonenumber maps to no zone; empty = the JVM's zone
     * @throws IllegalArgumentException naming the setting and what it should look like
     */
    public static CallingHours of(String hours, String days, String fallbackZone) {
        ZoneId zone = parseZone(fallbackZone);
        Set<DayOfWeek> allowedDays = parseDays(days);
        String daysText = isBlank(days) ? "every day" : days.strip().replaceAll("\\s+", "").toUpperCase(Locale.ROOT);
        if (isBlank(hours)) {
            return new CallingHours(LocalTime.MIDNIGHT, LocalTime.MIDNIGHT, 1, true, "any hour", allowedDays, daysText,
                    zone);
        }
        Matcher m = HOURS.matcher(hours.strip());
        if (!m.matches()) {
            throw badHours(hours, "is not HH:mm-HH:mm (e.g. 09:00-18:00)");
        }
        int startMinute = minuteOfDay(hours, m.group(1), m.group(2), false);
        int endMinute = minuteOfDay(hours, m.group(3), m.group(4), true);
        if (startMinute == endMinute) {
            throw badHours(hours, "starts and ends at the same time: leave it empty to call at any hour, or give a "
                    + "window such as 09:00-18:00");
        }
        LocalTime startTime = LocalTime.ofSecondOfDay(startMinute * 60L);
        LocalTime endTime = LocalTime.ofSecondOfDay((endMinute % (24 * 60)) * 60L);
        int endDayOffset = endMinute > startMinute && endMinute < 24 * 60 ? 0 : 1;
        boolean wholeDay = startMinute == 0 && endMinute == 24 * 60;
        String hoursText = String.format(Locale.ROOT, "%02d:%02d-%02d:%02d",
                startMinute / 60, startMinute % 60, endMinute / 60, endMinute % 60);
        return new CallingHours(startTime, endTime, endDayOffset, wholeDay, hoursText, allowedDays, daysText, zone);
    }

    /** No restriction at all: every number may be called at any instant. */
    public boolean always() {
        return wholeDay && days.size() == 7;
    }

    /** For reasons and logs, e.g. "09:00-18:00 MON-FRI (recipient's time zone, else America/Sao_Paulo)". */
    public String describe() {
        if (always()) {
            return "any time";
        }
        return hoursText + " " + daysText + " (recipient's time zone, else " + fallbackZone.getId() + ")";
    }

    @Override
    public String toString() {
        return describe();
    }

    /**
     * The recipient's time zones, from libphonenumber's time-zone mapper.
     *
     * @param phoneDigits as the validator normalises it: country code and number, digits only (5511999999999)
     * @return the number's zones in the mapper's order; the fallback zone alone when the number is unknown to the mapper
     *         or cannot be parsed
     */
    public List<ZoneId> zonesOf(String phoneDigits) {
        PhoneNumber number;
        try {
            number = PhoneNumberUtil.getInstance().parse("+" + phoneDigits, "ZZ");
        } catch (NumberParseException e) {
            return List.of(fallbackZone);
        }
        Set<ZoneId> zones = new LinkedHashSet<>();
        for (String id : PhoneNumberToTimeZonesMapper.getInstance().getTimeZonesForNumber(number)) {
            if (id.equals(PhoneNumberToTimeZonesMapper.getUnknownTimeZone())) {
                continue;
            }
            try {
                zones.add(ZoneId.of(id));
            } catch (DateTimeException unknownToThisJvm) {
                // libphonenumber's data may name a zone newer than the JVM's tzdb: the number's other zones still count
            }
        }
        return zones.isEmpty() ? List.of(fallbackZone) : List.copyOf(zones);
    }

    /** Whether {@code phoneDigits} may be called at {@code now}, and if not, when. */
    public Window check(String phoneDigits, Instant now) {
        if (always()) {
            return Window.openNow();
        }
        List<ZoneId> zones = zonesOf(phoneDigits);
        if (openInAll(zones, now)) {
            return Window.openNow();
        }
        // The earliest instant inside every zone's window is now or the start of one zone's window: the first candidate,
        // in time order, that holds everywhere is exact.
        Instant horizonEnd = now.plus(HORIZON);
        TreeSet<Instant> candidates = new TreeSet<>();
        for (ZoneId zone : zones) {
            LocalDate last = horizonEnd.atZone(zone).toLocalDate();
            for (LocalDate day = now.atZone(zone).toLocalDate().minusDays(1); !day.isAfter(last); day = day.plusDays(1)) {
                if (days.contains(day.getDayOfWeek())) {
                    Instant opens = boundary(day, start, zone);
                    if (opens.isAfter(now) && !opens.isAfter(horizonEnd)) {
                        candidates.add(opens);
                    }
                }
            }
        }
        for (Instant candidate : candidates) {
            if (openInAll(zones, candidate)) {
                return Window.closedUntil(candidate, "outside calling hours " + describe() + " in " + names(zones, now)
                        + "; opens at " + candidate);
            }
        }
        return Window.never("calling hours " + describe() + " never hold at once in all of the number's time zones ("
                + names(zones, now) + ") within the next " + HORIZON.toDays() + " days");
    }

    private boolean openInAll(List<ZoneId> zones, Instant instant) {
        for (ZoneId zone : zones) {
            if (!openIn(zone, instant)) {
                return false;
            }
        }
        return true;
    }

    /** Inside the window of the instant's local day, or of the day before (a window crossing midnight). */
    private boolean openIn(ZoneId zone, Instant instant) {
        LocalDate today = instant.atZone(zone).toLocalDate();
        for (LocalDate day : List.of(today.minusDays(1), today)) {
            if (days.contains(day.getDayOfWeek())) {
                Instant opens = boundary(day, start, zone);
                Instant closes = boundary(day.plusDays(endDayOffset), end, zone);
                if (!instant.isBefore(opens) && instant.isBefore(closes)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The first instant the zone's wall clock shows {@code time} on {@code day} or later. */
    private static Instant boundary(LocalDate day, LocalTime time, ZoneId zone) {
        LocalDateTime local = day.atTime(time);
        ZoneOffsetTransition transition = zone.getRules().getTransition(local);
        if (transition != null && transition.isGap()) {
            return transition.getInstant();
        }
        // in an overlap ofLocal keeps the earlier offset: the first time the clock shows that time
        return ZonedDateTime.ofLocal(local, zone, null).toInstant();
    }

    /** The zones for a reason; a long list (a non-geographic +1 number has 42) as its two extremes at {@code at}. */
    private static String names(List<ZoneId> zones, Instant at) {
        if (zones.size() <= 6) {
            return zones.stream().map(ZoneId::getId).collect(Collectors.joining(", "));
        }
        Comparator<ZoneId> byOffset = Comparator.comparing(zone -> zone.getRules().getOffset(at));
        // ZoneOffset orders the largest offset first
        ZoneId east = zones.stream().min(byOffset).orElseThrow();
        ZoneId west = zones.stream().max(byOffset).orElseThrow();
        return zones.size() + " time zones from " + west.getId() + " (" + west.getRules().getOffset(at) + ") to "
                + east.getId() + " (" + east.getRules().getOffset(at) + ")";
    }

    private static int minuteOfDay(String hours, String hh, String mm, boolean isEnd) {
        int hour = Integer.parseInt(hh);
        int minute = Integer.parseInt(mm);
        boolean endOfDay = isEnd && hour == 24 && minute == 0;
        if (!endOfDay && (hour > 23 || minute > 59)) {
            throw badHours(hours, "has a time that does not exist (hours 00-23, minutes 00-59; only the end may be "
                    + "24:00)");
        }
        return hour * 60 + minute;
    }

    private static IllegalArgumentException badHours(String hours, String problem) {
        return new IllegalArgumentException("zapi.calling-hours '" + hours + "' " + problem);
    }

    private static Set<DayOfWeek> parseDays(String text) {
        if (isBlank(text)) {
            return EnumSet.allOf(DayOfWeek.class);
        }
        Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
        for (String part : text.strip().split("\\s*,\\s*", -1)) {
            String[] range = part.split("\\s*-\\s*", -1);
            if (range.length == 1) {
                days.add(day(text, range[0]));
            } else if (range.length == 2) {
                int from = day(text, range[0]).ordinal();
                int to = day(text, range[1]).ordinal();
                // SAT-MON wraps over the week's end
                for (int i = from; ; i = (i + 1) % 7) {
                    days.add(WEEK.get(i));
                    if (i == to) {
                        break;
                    }
                }
            } else {
                throw badDays(text, "'" + part + "' is not a day or a range of days");
            }
        }
        return days;
    }

    private static DayOfWeek day(String text, String name) {
        String upper = name.strip().toUpperCase(Locale.ROOT);
        for (DayOfWeek day : DayOfWeek.values()) {
            if (upper.length() >= 3 && day.name().startsWith(upper) && (upper.length() == 3 || upper.equals(day.name()))) {
                return day;
            }
        }
        throw badDays(text, "'" + name.strip() + "' is not a day");
    }

    private static IllegalArgumentException badDays(String text, String problem) {
        return new IllegalArgumentException("zapi.calling-days '" + text + "': " + problem
                + " (use MON TUE WED THU FRI SAT SUN, ranges and lists, e.g. MON-FRI or MON,WED,FRI or SAT-MON)");
    }

    private static ZoneId parseZone(String text) {
        if (isBlank(text)) {
            return ZoneId.systemDefault();
        }
        try {
            return ZoneId.of(text.strip());
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("zapi.timezone '" + text + "' is not a time zone (use a region such as "
                    + "America/Sao_Paulo, or an offset such as -03:00)", e);
        }
    }

    private static boolean isBlank(String text) {
        return text == null || text.isBlank();
    }

    /**
     * The decision for one number at one instant.
     *
     * @param state   open now, closed until {@code opensAt}, or never within {@link #HORIZON}
     * @param opensAt when closed: the earliest instant the window holds in all the number's zones; else null
     * @param reason  when not open: why, for the record or the log; else null
     */
    public record Window(State state, Instant opensAt, String reason) {

        public enum State { OPEN, CLOSED, NEVER }

        public Window {
            Objects.requireNonNull(state, "state");
        }

        static Window openNow() {
            return new Window(State.OPEN, null, null);
        }

        static Window closedUntil(Instant opensAt, String reason) {
            return new Window(State.CLOSED, opensAt, reason);
        }

        static Window never(String reason) {
            return new Window(State.NEVER, null, reason);
        }

        public boolean isOpen() {
            return state == State.OPEN;
        }
    }
}
