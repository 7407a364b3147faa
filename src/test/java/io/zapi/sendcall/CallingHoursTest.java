package io.zapi.sendcall;

import io.zapi.sendcall.schedule.CallingHours;
import io.zapi.sendcall.schedule.CallingHours.Window;
import org.junit.jupiter.api.Test;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * zapi.calling-hours / zapi.calling-days / zapi.timezone (issue 13 point 2): the window in the recipient's time zones
 * as libphonenumber maps them from the number. Instants are UTC; comments give the recipient's wall clock.
 * Week used: Monday 2026-11-30 to Sunday 2026-12-06; Sao Paulo is UTC-3 all year (no DST since 2019).
 */
class CallingHoursTest {

    private static final String SAO_PAULO_MOBILE = "5511999999999";
    private static final String MANAUS_MOBILE = "5592999999999";
    private static final String NEW_YORK = "12125551234";
    /** Idaho: area code 208 spans Mountain (Boise) and Pacific (Los Angeles) time. */
    private static final String IDAHO = "12085551234";
    /** US toll-free: non-geographic, mapped to every zone of the +1 plan (Guam to Pago Pago). */
    private static final String US_TOLL_FREE = "18005551234";

    private static final ZoneId SAO_PAULO = ZoneId.of("America/Sao_Paulo");

    @Test
    void aBrazilianNumberIsCalledInSaoPauloTimeAndTheEndIsExclusive() {
        CallingHours hours = CallingHours.of("09:00-18:00", "MON-FRI", "Europe/Lisbon");

        assertThat(hours.zonesOf(SAO_PAULO_MOBILE)).containsExactly(SAO_PAULO);
        assertThat(hours.zonesOf("551133334444")).containsExactly(SAO_PAULO);

        // Monday 08:59 in Sao Paulo: closed until 09:00
        Window early = hours.check(SAO_PAULO_MOBILE, Instant.parse("2026-11-30T11:59:00Z"));
        assertThat(early.state()).isEqualTo(Window.State.CLOSED);
        assertThat(early.opensAt()).isEqualTo(Instant.parse("2026-11-30T12:00:00Z"));
        assertThat(early.reason()).contains("09:00-18:00 MON-FRI", "America/Sao_Paulo", "2026-11-30T12:00:00Z");

        assertThat(hours.check(SAO_PAULO_MOBILE, Instant.parse("2026-11-30T12:00:00Z")).isOpen()).isTrue();
        // 17:59:59 is in, 18:00 is out: tomorrow 09:00
        assertThat(hours.check(SAO_PAULO_MOBILE, Instant.parse("2026-11-30T20:59:59Z")).isOpen()).isTrue();
        Window atEnd = hours.check(SAO_PAULO_MOBILE, Instant.parse("2026-11-30T21:00:00Z"));
        assertThat(atEnd.state()).isEqualTo(Window.State.CLOSED);
        assertThat(atEnd.opensAt()).isEqualTo(Instant.parse("2026-12-01T12:00:00Z"));

        // Friday 18:00 in Sao Paulo: next window is Monday 09:00
        assertThat(hours.check(SAO_PAULO_MOBILE, Instant.parse("2026-12-04T21:00:00Z")).opensAt())
                .isEqualTo(Instant.parse("2026-12-07T12:00:00Z"));
    }

    @Test
    void theRecipientsZoneNotTheFallbackDecides() {
        CallingHours hours = CallingHours.of("09:00-18:00", "", "America/Sao_Paulo");

        assertThat(hours.zonesOf(MANAUS_MOBILE)).containsExactly(ZoneId.of("America/Manaus"));
        // 09:30 in Sao Paulo is 08:30 in Manaus (UTC-4)
        Window manaus = hours.check(MANAUS_MOBILE, Instant.parse("2026-11-30T12:30:00Z"));
        assertThat(manaus.state()).isEqualTo(Window.State.CLOSED);
        assertThat(manaus.opensAt()).isEqualTo(Instant.parse("2026-11-30T13:00:00Z"));
        assertThat(hours.check(SAO_PAULO_MOBILE, Instant.parse("2026-11-30T12:30:00Z")).isOpen()).isTrue();
    }

    @Test
    void aNumberSpanningSeveralZonesIsCalledOnlyWhenTheWindowHoldsInAllOfThem() {
        CallingHours hours = CallingHours.of("09:00-18:00", "MON-FRI", "America/Sao_Paulo");

        assertThat(hours.zonesOf(IDAHO))
                .containsExactlyInAnyOrder(ZoneId.of("America/Boise"), ZoneId.of("America/Los_Angeles"));
        // Monday 09:30 in Boise (UTC-7) is 08:30 in Los Angeles (UTC-8): opens at 09:00 Los Angeles
        Window early = hours.check(IDAHO, Instant.parse("2026-11-30T16:30:00Z"));
        assertThat(early.state()).isEqualTo(Window.State.CLOSED);
        assertThat(early.opensAt()).isEqualTo(Instant.parse("2026-11-30T17:00:00Z"));
        assertThat(early.reason()).contains("America/Boise", "America/Los_Angeles");
        assertThat(hours.check(IDAHO, Instant.parse("2026-11-30T17:00:00Z")).isOpen()).isTrue();
        // 17:59 Boise / 16:59 Los Angeles is in; 18:00 Boise ends it although Los Angeles is still at 17:00
        assertThat(hours.check(IDAHO, Instant.parse("2026-12-01T00:59:00Z")).isOpen()).isTrue();
        Window late = hours.check(IDAHO, Instant.parse("2026-12-01T01:00:00Z"));
        assertThat(late.state()).isEqualTo(Window.State.CLOSED);
        assertThat(late.opensAt()).isEqualTo(Instant.parse("2026-12-01T17:00:00Z"));
    }

    @Test
    void aWindowThatNeverHoldsInAllTheZonesAtOnceIsNever() {
        CallingHours hours = CallingHours.of("09:00-18:00", "MON-FRI", "America/Sao_Paulo");

        List<ZoneId> zones = hours.zonesOf(US_TOLL_FREE);
        assertThat(zones).contains(ZoneId.of("Pacific/Guam"), ZoneId.of("Pacific/Pago_Pago"),
                ZoneId.of("America/New_York"), ZoneId.of("America/Los_Angeles"));
        // Guam is UTC+10, Pago Pago UTC-11: no 9-hour window holds in both at once
        Window never = hours.check(US_TOLL_FREE, Instant.parse("2026-11-30T12:00:00Z"));
        assertThat(never.state()).isEqualTo(Window.State.NEVER);
        assertThat(never.opensAt()).isNull();
        assertThat(never.reason()).contains("never", "8 days",
                zones.size() + " time zones from Pacific/Pago_Pago (-11:00) to Pacific/Guam (+10:00)");

        // two zones an hour apart: 09:00-10:30 overlaps 30 minutes; 09:00-10:00 only touches (the end is exclusive)
        Window small = CallingHours.of("09:00-10:30", "", "UTC").check(IDAHO, Instant.parse("2026-11-30T12:00:00Z"));
        assertThat(small.state()).isEqualTo(Window.State.CLOSED);
        assertThat(small.opensAt()).isEqualTo(Instant.parse("2026-11-30T17:00:00Z"));
        Window tiny = CallingHours.of("09:00-10:00", "", "UTC").check(IDAHO, Instant.parse("2026-11-30T12:00:00Z"));
        assertThat(tiny.state()).isEqualTo(Window.State.NEVER);
    }

    @Test
    void aNumberTheMapperDoesNotKnowUsesTheFallbackZone() {
        ZoneId lisbon = ZoneId.of("Europe/Lisbon");
        CallingHours hours = CallingHours.of("09:00-18:00", "", "Europe/Lisbon");

        assertThat(hours.zonesOf("5511")).as("too short: libphonenumber says Etc/Unknown").containsExactly(lisbon);
        assertThat(hours.zonesOf("999123456")).as("no such country code: not parseable").containsExactly(lisbon);
        assertThat(hours.zonesOf("")).containsExactly(lisbon);
        // 09:30 in Lisbon (UTC+0 in winter), 06:30 in Sao Paulo: open for the unknown number only
        Instant lisbonMorning = Instant.parse("2026-11-30T09:30:00Z");
        assertThat(hours.check("999123456", lisbonMorning).isOpen()).isTrue();
        assertThat(hours.check(SAO_PAULO_MOBILE, lisbonMorning).isOpen()).isFalse();

        assertThat(CallingHours.of("09:00-18:00", "", "").zonesOf("5511")).containsExactly(ZoneId.systemDefault());
    }

    @Test
    void aWindowCrossingMidnightBelongsToTheDayItStartsOn() {
        CallingHours nights = CallingHours.of("22:00-06:00", "MON-FRI", "UTC");

        // Friday 23:00 and Saturday 02:00 are Friday's window
        assertThat(nights.check(SAO_PAULO_MOBILE, Instant.parse("2026-12-05T02:00:00Z")).isOpen()).isTrue();
        assertThat(nights.check(SAO_PAULO_MOBILE, Instant.parse("2026-12-05T05:00:00Z")).isOpen()).isTrue();
        // Saturday 06:00 ends it; next is Monday 22:00
        Window saturdayMorning = nights.check(SAO_PAULO_MOBILE, Instant.parse("2026-12-05T09:00:00Z"));
        assertThat(saturdayMorning.state()).isEqualTo(Window.State.CLOSED);
        assertThat(saturdayMorning.opensAt()).isEqualTo(Instant.parse("2026-12-08T01:00:00Z"));
        // Monday 02:00 would be Sunday's window, which is not allowed: Monday 22:00
        Window mondayNight = nights.check(SAO_PAULO_MOBILE, Instant.parse("2026-11-30T05:00:00Z"));
        assertThat(mondayNight.state()).isEqualTo(Window.State.CLOSED);
        assertThat(mondayNight.opensAt()).isEqualTo(Instant.parse("2026-12-01T01:00:00Z"));
        // Tuesday 05:59 (Monday's window) in, 06:00 out
        assertThat(nights.check(SAO_PAULO_MOBILE, Instant.parse("2026-12-01T08:59:00Z")).isOpen()).isTrue();
        assertThat(nights.check(SAO_PAULO_MOBILE, Instant.parse("2026-12-01T09:00:00Z")).isOpen()).isFalse();

        CallingHours evenings = CallingHours.of("18:00-24:00", "", "UTC");
        assertThat(evenings.check(SAO_PAULO_MOBILE, Instant.parse("2026-12-01T02:59:00Z")).isOpen()).isTrue();
        Window midnight = evenings.check(SAO_PAULO_MOBILE, Instant.parse("2026-12-01T03:00:00Z"));
        assertThat(midnight.opensAt()).isEqualTo(Instant.parse("2026-12-01T21:00:00Z"));
    }

    @Test
    void daysAreRangesListsAndWrapOverTheWeekend() {
        assertThat(openDays("MON-FRI")).containsExactlyInAnyOrder(DayOfWeek.MONDAY, DayOfWeek.TUESDAY,
                DayOfWeek.WEDNESDAY, DayOfWeek.THURSDAY, DayOfWeek.FRIDAY);
        assertThat(openDays("MON,WED,FRI"))
                .containsExactlyInAnyOrder(DayOfWeek.MONDAY, DayOfWeek.WEDNESDAY, DayOfWeek.FRIDAY);
        assertThat(openDays(" mon - wed , Sat "))
                .containsExactlyInAnyOrder(DayOfWeek.MONDAY, DayOfWeek.TUESDAY, DayOfWeek.WEDNESDAY, DayOfWeek.SATURDAY);
        assertThat(openDays("SAT-MON"))
                .containsExactlyInAnyOrder(DayOfWeek.SATURDAY, DayOfWeek.SUNDAY, DayOfWeek.MONDAY);
        assertThat(openDays("sunday")).containsExactly(DayOfWeek.SUNDAY);
        assertThat(openDays("")).hasSize(7);

        // whole days SAT-MON: Tuesday noon waits for Saturday 00:00 in Sao Paulo
        Window tuesday = CallingHours.of("", "SAT-MON", "UTC").check(SAO_PAULO_MOBILE, Instant.parse("2026-12-01T15:00:00Z"));
        assertThat(tuesday.opensAt()).isEqualTo(Instant.parse("2026-12-05T03:00:00Z"));
    }

    @Test
    void aDstChangeDayMovesTheWindowWithTheWallClock() {
        CallingHours hours = CallingHours.of("09:00-18:00", "", "UTC");
        assertThat(hours.zonesOf(NEW_YORK)).containsExactly(ZoneId.of("America/New_York"));

        // Saturday 2026-03-07 18:30 EST (UTC-5); clocks go forward on Sunday 02:00: opens 09:00 EDT (UTC-4)
        Window saturdayEvening = hours.check(NEW_YORK, Instant.parse("2026-03-07T23:30:00Z"));
        assertThat(saturdayEvening.opensAt()).isEqualTo(Instant.parse("2026-03-08T13:00:00Z"));
        assertThat(hours.check(NEW_YORK, Instant.parse("2026-03-08T12:59:00Z")).isOpen()).isFalse();

        // a start inside the gap (02:30 does not exist on 2026-03-08) opens when the gap ends, at 03:00 EDT
        CallingHours inGap = CallingHours.of("02:30-05:00", "", "UTC");
        Window beforeGap = inGap.check(NEW_YORK, Instant.parse("2026-03-08T06:30:00Z"));
        assertThat(beforeGap.opensAt()).isEqualTo(Instant.parse("2026-03-08T07:00:00Z"));
        assertThat(inGap.check(NEW_YORK, Instant.parse("2026-03-08T08:59:00Z")).isOpen()).isTrue();
        assertThat(inGap.check(NEW_YORK, Instant.parse("2026-03-08T09:00:00Z")).isOpen()).isFalse();

        // clocks go back on 2026-11-01 02:00 EDT: 01:30 happens twice, the window opens at the first and ends at
        // 03:00 EST
        CallingHours inOverlap = CallingHours.of("01:30-03:00", "", "UTC");
        assertThat(inOverlap.check(NEW_YORK, Instant.parse("2026-11-01T05:00:00Z")).opensAt())
                .isEqualTo(Instant.parse("2026-11-01T05:30:00Z"));
        assertThat(inOverlap.check(NEW_YORK, Instant.parse("2026-11-01T06:45:00Z")).isOpen()).isTrue();
        assertThat(inOverlap.check(NEW_YORK, Instant.parse("2026-11-01T07:59:00Z")).isOpen()).isTrue();
        assertThat(inOverlap.check(NEW_YORK, Instant.parse("2026-11-01T08:00:00Z")).isOpen()).isFalse();
    }

    @Test
    void noRestrictionIsAlwaysOpen() {
        assertThat(CallingHours.of("", "", "").always()).isTrue();
        assertThat(CallingHours.of(null, null, null).always()).isTrue();
        assertThat(CallingHours.of("00:00-24:00", "MON-SUN", "UTC").always()).isTrue();
        assertThat(CallingHours.of("", "MON-FRI", "UTC").always()).isFalse();
        assertThat(CallingHours.of("00:00-23:59", "", "UTC").always()).isFalse();
        assertThat(CallingHours.of("", "", "UTC").check(US_TOLL_FREE, Instant.parse("2026-11-30T12:00:00Z")).isOpen())
                .isTrue();
        assertThat(CallingHours.of("", "", "").describe()).isEqualTo("any time");
        assertThat(CallingHours.of("09:00-18:00", "MON-FRI", "America/Sao_Paulo").describe())
                .isEqualTo("09:00-18:00 MON-FRI (recipient's time zone, else America/Sao_Paulo)");
        assertThat(CallingHours.of("", "sat-mon", "UTC").describe())
                .isEqualTo("any hour SAT-MON (recipient's time zone, else UTC)");
    }

    @Test
    void invalidSettingsSayWhichSettingAndWhatItShouldLookLike() {
        assertThatThrownBy(() -> CallingHours.of("9-18", "", ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("zapi.calling-hours '9-18' is not HH:mm-HH:mm (e.g. 09:00-18:00)");
        assertThatThrownBy(() -> CallingHours.of("09:00-18:00-20:00", "", ""))
                .hasMessageContaining("zapi.calling-hours '09:00-18:00-20:00' is not HH:mm-HH:mm");
        assertThatThrownBy(() -> CallingHours.of("18:00-18:00", "", ""))
                .hasMessageContaining("zapi.calling-hours '18:00-18:00' starts and ends at the same time");
        assertThatThrownBy(() -> CallingHours.of("09:00-25:00", "", ""))
                .hasMessageContaining("zapi.calling-hours '09:00-25:00' has a time that does not exist");
        assertThatThrownBy(() -> CallingHours.of("24:00-06:00", "", ""))
                .hasMessageContaining("only the end may be 24:00");
        assertThatThrownBy(() -> CallingHours.of("09:60-18:00", "", ""))
                .hasMessageContaining("zapi.calling-hours '09:60-18:00'");

        assertThatThrownBy(() -> CallingHours.of("", "MON-XYZ", ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("zapi.calling-days 'MON-XYZ': 'XYZ' is not a day")
                .hasMessageContaining("MON-FRI");
        assertThatThrownBy(() -> CallingHours.of("", "MON-TUE-WED", ""))
                .hasMessageContaining("'MON-TUE-WED' is not a day or a range of days");
        assertThatThrownBy(() -> CallingHours.of("", "MON,", "")).hasMessageContaining("zapi.calling-days 'MON,'");
        assertThatThrownBy(() -> CallingHours.of("", "MO", "")).hasMessageContaining("'MO' is not a day");

        assertThatThrownBy(() -> CallingHours.of("", "", "Mars/Olympus"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("zapi.timezone 'Mars/Olympus' is not a time zone")
                .hasMessageContaining("America/Sao_Paulo");
        assertThat(CallingHours.of("", "", "-03:00").zonesOf("5511")).containsExactly(ZoneId.of("-03:00"));
    }

    /** Not an assertion on time (the machine is shared): how long one decision takes, for the report. */
    @Test
    void measureZonesOfAndCheck() {
        CallingHours hours = CallingHours.of("09:00-18:00", "MON-FRI", "America/Sao_Paulo");
        Instant evening = Instant.parse("2026-11-30T22:00:00Z");

        long coldStart = System.nanoTime();
        hours.check("5521987654321", evening);
        long coldMicros = (System.nanoTime() - coldStart) / 1_000;

        String[] prefixes = {"551199999", "552199999", "559299999", "1212555", "1208555"};
        int calls = 50_000;
        long closed = 0;
        double microsPerCall = 0;
        // the first round lets the JIT compile libphonenumber's matchers; the second is the steady state
        for (int round = 0; round < 2; round++) {
            closed = 0;
            long start = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                String phone = prefixes[i % prefixes.length] + String.format("%04d", i % 10_000);
                closed += hours.check(phone, evening).isOpen() ? 0 : 1;
            }
            microsPerCall = (System.nanoTime() - start) / 1_000.0 / calls;
        }
        System.out.printf("CallingHours: first call (loads libphonenumber data) %d us; then zonesOf + check %.1f us per "
                + "call over %d numbers, after a warm-up round (%d closed)%n", coldMicros, microsPerCall, calls, closed);
        // 19:00 in Brazil, 17:00 in New York, 15:00 in Idaho
        assertThat(closed).isEqualTo(calls * 3L / 5);
    }

    /** The days on which noon in Sao Paulo is inside the whole-day window, over the week of 2026-11-30. */
    private static Set<DayOfWeek> openDays(String days) {
        CallingHours hours = CallingHours.of("", days, "UTC");
        Set<DayOfWeek> open = EnumSet.noneOf(DayOfWeek.class);
        for (LocalDate day = LocalDate.of(2026, 11, 30); day.isBefore(LocalDate.of(2026, 12, 7)); day = day.plusDays(1)) {
            if (hours.check(SAO_PAULO_MOBILE, day.atTime(12, 0).atZone(SAO_PAULO).toInstant()).isOpen()) {
                open.add(day.getDayOfWeek());
            }
        }
        return open;
    }
}
