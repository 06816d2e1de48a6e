namespace Gregor.Protocol.Tests.Compression;

/// <summary>
/// Compressed forms of <see cref="Input"/> written by the reference command-line tools (lz4 1.9.4,
/// zstd, GNU gzip), so decoding is checked against other implementations, not only our own encoder.
/// </summary>
internal static class CompressionVectors
{
    public static byte[] Input { get; } = System.Text.Encoding.ASCII.GetBytes(
        string.Concat(Enumerable.Range(0, 3000).Select(i => $"line {i % 97} of the quick brown fox\n")));

    // lz4 -BD -B4 --content-size -BX: linked 64 KiB blocks, block and content checksums, content size.
    public static readonly byte[] Lz4LinkedWithChecksumsAndContentSize = Convert.FromBase64String(
        """
        BCJNGFxAEmoBAAAAAAC5JgMAAPEPbGluZSAwIG9mIHRoZSBxdWljayBicm93biBmb3gKHgAfMR4ACh8yHgAKHzMeAAofNB4ACh81
        HgAKHzYeAAofNx4ACh84HgAKHzkeAAofMS0BDA8uAQsfMS8BCx8xMAELHzExAQsfMTIBCx8xMwELHzE0AQsfMTUBCx8xNgELHzI2
        AQsfMjYBCx8yNgELHzI2AQsfMjYBCx8yNgELHzI2AQsfMjYBCx8yNgELHzI2AQsfMzYBCx8zNgELHzM2AQsfMzYBCx8zNgELHzM2
        AQsfMzYBCx8zNgELHzM2AQsfMzYBCx80NgELHzQ2AQsfNDYBCx80NgELHzQ2AQsfNDYBCx80NgELHzQ2AQsfNDYBCx80NgELHzU2
        AQsfNTYBCx81NgELHzU2AQsfNTYBCx81NgELHzU2AQsfNTYBCx81NgELHzU2AQsfNjYBCx82NgELHzY2AQsfNjYBCx82NgELHzY2
        AQsfNjYBCx82NgELHzY2AQsfNjYBCx83NgELHzc2AQsfNzYBCx83NgELHzc2AQsfNzYBCx83NgELHzc2AQsfNzYBCx83NgELHzg2
        AQsfODYBCx84NgELHzg2AQsfODYBCx84NgELHzg2AQsfODYBCx84NgELHzg2AQsfOTYBCx85NgELHzk2AQsfOTYBCx85NgELHzk2
        AQsfOTYBCw/YAAsP1wALD9YACw/VAAsP1AALD9MACw/SAAsPBwIMD5cLCg8FAgsPtQv/////////////////////////////////
        ////////////////////////////////////////////////////////////////////////////////////////////////////
        ////////////////////////////////////////////////////////////////////////////////////////////////////
        ///////////////////////////////////////////////////////////////////////////////////////////1UGxpbmUg
        76JcwXkAAAAfOM/zCw/Z9f//////////////////////////////////////////////////////////////////////////////
        //////////////////////////////////////////////////////////////9FUCBmb3gKvK6xjwAAAAB04AWR
        """.Replace("\n", "", StringComparison.Ordinal));

    // lz4 -BI -B4: independent 64 KiB blocks, content checksum.
    public static readonly byte[] Lz4Independent = Convert.FromBase64String(
        """
        BCJNGGRApyYDAADxD2xpbmUgMCBvZiB0aGUgcXVpY2sgYnJvd24gZm94Ch4AHzEeAAofMh4ACh8zHgAKHzQeAAofNR4ACh82HgAK
        HzceAAofOB4ACh85HgAKHzEtAQwPLgELHzEvAQsfMTABCx8xMQELHzEyAQsfMTMBCx8xNAELHzE1AQsfMTYBCx8yNgELHzI2AQsf
        MjYBCx8yNgELHzI2AQsfMjYBCx8yNgELHzI2AQsfMjYBCx8yNgELHzM2AQsfMzYBCx8zNgELHzM2AQsfMzYBCx8zNgELHzM2AQsf
        MzYBCx8zNgELHzM2AQsfNDYBCx80NgELHzQ2AQsfNDYBCx80NgELHzQ2AQsfNDYBCx80NgELHzQ2AQsfNDYBCx81NgELHzU2AQsf
        NTYBCx81NgELHzU2AQsfNTYBCx81NgELHzU2AQsfNTYBCx81NgELHzY2AQsfNjYBCx82NgELHzY2AQsfNjYBCx82NgELHzY2AQsf
        NjYBCx82NgELHzY2AQsfNzYBCx83NgELHzc2AQsfNzYBCx83NgELHzc2AQsfNzYBCx83NgELHzc2AQsfNzYBCx84NgELHzg2AQsf
        ODYBCx84NgELHzg2AQsfODYBCx84NgELHzg2AQsfODYBCx84NgELHzk2AQsfOTYBCx85NgELHzk2AQsfOTYBCx85NgELHzk2AQsP
        2AALD9cACw/WAAsP1QALD9QACw/TAAsP0gALDwcCDA+XCwoPBQILD7UL////////////////////////////////////////////
        ////////////////////////////////////////////////////////////////////////////////////////////////////
        ////////////////////////////////////////////////////////////////////////////////////////////////////
        ////////////////////////////////////////////////////////////////////////////////9VBsaW5lIGMCAAD/Ejg0
        IG9mIHRoZSBxdWljayBicm93biBmb3gKbGluZSA4NR8ACx82HwALHzcfAAsfOB8ACx85HwAKLzkwHwALHzEfAAsfMh8ACx8zHwAL
        DzYBCx85NgELHzk2AQsP2AALD9cACw/WAAsP1QALD9QACw/TAAsP0gALDwcCDA9rAQsPHgAKHzEtAQwPLgELHzEvAQsfMTABCx8x
        MQELHzEyAQsfMTMBCx8xNAELHzE7AwsfMTsDCx8yNgELHzI2AQsfMjYBCx8yNgELHzI2AQsfMjYBCx8yNgELHzI2AQsfMjYBCx8y
        NgELHzM2AQsfMzYBCx8zNgELHzM2AQsfMzYBCx8zNgELHzM2AQsfMzYBCx8zNgELHzM2AQsfNDYBCx80NgELHzQ2AQsfNDYBCx80
        NgELHzQ2AQsfNDYBCx80NgELHzQ2AQsfNDYBCx81NgELHzU2AQsfNTYBCx81NgELHzU2AQsfNTYBCx81NgELHzU2AQsfNTYBCx81
        NgELHzY2AQsfNjYBCx82NgELHzY2AQsfNjYBCx82NgELHzY2AQsfNjYBCx82NgELHzY2AQsfNzYBCx83NgELHzc2AQsfNzYBCx83
        NgELHzc2AQsfNzYBCx83NgELHzc2AQsfNzYBCx84NgELHzg2AQsfODYBCx84NgELHzg2AQsPtQv/////////////////////////
        ////////////////////////////////////////////////////////////////////////////////////////////////////
        hFAgZm94CgAAAAB04AWR
        """.Replace("\n", "", StringComparison.Ordinal));

    // zstd -19 reading stdin: a frame without the content size, as streaming writers produce.
    public static readonly byte[] ZstdStreamed = Convert.FromBase64String(
        """
        KLUv/QRotQQA4ocWFYBNG8CI4ziOwwQ93d3dvdNwN45KB7u7u6uqqqqqmpmZmZmJiIiIiHh3d3d3Z2ZmZmZWVVVVVfX////btm3b
        q4lndQPRUiQFWhohIcPxMIkwnFQsKUiEciQBYqgh/Pp/BsAzKtcSSBD4fwQBGf7+fwdaXrhrGUlRluJzFoc30oY1QsMZkWGMhPGC
        tfgQM3EGQKsCHaU+/g==
        """.Replace("\n", "", StringComparison.Ordinal));

    // gzip -9 -n.
    public static readonly byte[] Gzip = Convert.FromBase64String(
        """
        H4sIAAAAAAACA+3Wu20VUQBF0ZwqpgTme2faAdnCwvKTLRCUj2hgT+pgxSfbup/1+vL2NH2dHs/Trx9P0/vvl+8/p28fjz9v0/Pj
        75fX/+uc65LrmuuW657rkevI9cz16ho3sbrW3Lnm7jV3sLmLzZ1s7mZzR5u72tLVlpsz1tWWrrZ0taWrLV1t6WpLV1u62trV1q62
        3lzNrrZ2tbWrrV1t7WprV1u72tbVtq62dbXt5kXraltX27ra1tW2rrZ1tb2r7V1t72p7V9tvPoKutne1vavtXW3vakdXO7ra0dWO
        rnZ0tePm/+xqR1c7utrR1UZXG11tdLXR1UZXG11t3LCjq42uNrra2dXOrnZ2tbOrnV3t7GpnVztvtNbVzq52dbWrq11d7epqV1e7
        utrV1aAd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd
        2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd
        2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd
        2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd
        2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd
        2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd
        2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qEd2qH9
        86P9HwaOVbkSagEA
        """.Replace("\n", "", StringComparison.Ordinal));
}
