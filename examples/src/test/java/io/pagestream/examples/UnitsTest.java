package io.pagestream.examples;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UnitsTest
{
    @Test
    void shouldParseBinarySizes()
    {
        assertEquals(1L << 30, Units.parseSize("1g"));
        assertEquals(8L << 30, Units.parseSize("8G"));
        assertEquals(256L << 20, Units.parseSize("256m"));
        assertEquals(4096, Units.parseSize("4k"));
        assertEquals(2L << 20, Units.parseSize("2MiB"));
        assertEquals(8192, Units.parseSize("8192"));
    }

    @Test
    void shouldParseRatesInBitsAndBytes()
    {
        assertEquals(125_000_000, Units.parseRate("1gbit"));
        assertEquals(12_500_000, Units.parseRate("100mbit"));
        assertEquals(200_000_000, Units.parseRate("200MB"));
        assertEquals(200_000_000, Units.parseRate("200MB/s"));
        assertEquals(0, Units.parseRate("unlimited"));
    }

    @Test
    void shouldNameWhatWasWrong()
    {
        final IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> Units.parseSize("lots"));
        assertTrue(size.getMessage().contains("'lots'"), size.getMessage());
        final IllegalArgumentException rate = assertThrows(IllegalArgumentException.class, () -> Units.parseRate("fast"));
        assertTrue(rate.getMessage().contains("'fast'"), rate.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize("-1g"));
    }
}
