package io.pagestream.examples;

import java.util.Locale;

/**
 * Parses sizes ({@code 1g}, {@code 256m}, {@code 4k}, {@code 8192}) and rates ({@code 1gbit}, {@code 200MB},
 * {@code unlimited}) from the command line, with errors that say what was wrong.
 */
public final class Units
{
    private Units()
    {
    }

    /**
     * @param text binary size: a number with an optional k, m, g or t suffix (powers of 1024), optional trailing b.
     * @return bytes.
     */
    public static long parseSize(final String text)
    {
        final String s = text.trim().toLowerCase(Locale.ROOT).replaceAll("i?b$", "");
        long multiplier = 1;
        String digits = s;
        if (!s.isEmpty())
        {
            switch (s.charAt(s.length() - 1))
            {
                case 'k': multiplier = 1L << 10; break;
                case 'm': multiplier = 1L << 20; break;
                case 'g': multiplier = 1L << 30; break;
                case 't': multiplier = 1L << 40; break;
                default: break;
            }
            if (multiplier != 1)
            {
                digits = s.substring(0, s.length() - 1);
            }
        }
        try
        {
            final double value = Double.parseDouble(digits);
            if (!(value > 0))
            {
                throw new IllegalArgumentException("size must be positive: '" + text + "'");
            }
            return (long)(value * multiplier);
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("not a size: '" + text + "' (examples: 1g, 256m, 4k)");
        }
    }

    /**
     * @param text a rate: {@code unlimited} or 0 for none; a number with kbit, mbit or gbit (bits per second,
     *             decimal); or with k, m, g, kb, mb, gb (bytes per second, decimal); optional "/s" or "ps".
     * @return bytes per second, 0 for unlimited.
     */
    public static long parseRate(final String text)
    {
        String s = text.trim().toLowerCase(Locale.ROOT).replaceAll("(/s|ps)$", "");
        if (s.equals("unlimited") || s.equals("none") || s.equals("0"))
        {
            return 0;
        }
        boolean bits = false;
        if (s.endsWith("bit"))
        {
            bits = true;
            s = s.substring(0, s.length() - 3);
        }
        else if (s.endsWith("b"))
        {
            s = s.substring(0, s.length() - 1);
        }
        double multiplier = 1;
        if (!s.isEmpty())
        {
            switch (s.charAt(s.length() - 1))
            {
                case 'k': multiplier = 1e3; break;
                case 'm': multiplier = 1e6; break;
                case 'g': multiplier = 1e9; break;
                default: break;
            }
            if (multiplier != 1)
            {
                s = s.substring(0, s.length() - 1);
            }
        }
        try
        {
            final double value = Double.parseDouble(s) * multiplier / (bits ? 8 : 1);
            if (!(value > 0))
            {
                throw new IllegalArgumentException("rate must be positive: '" + text + "'");
            }
            return (long)value;
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("not a rate: '" + text + "' (examples: 1gbit, 200MB, unlimited)");
        }
    }
}
