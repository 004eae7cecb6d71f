# The packet decoder and the connection tracker, without root:
#  - the capture corpus (../shared/corpus/tcpdump), checked value by value against tcpdump's own
#    expected output (not its text: the fields it prints are parsed and compared);
#  - options the corpus lacks, crafted byte by byte from RFC 8684's figures (named in each case);
#  - bad input: every corpus option truncated at every length, lying length fields, random bytes,
#    damaged and non-capture files;
#  - every link type the reader claims, by re-encapsulating corpus frames: the hand-written fast path's and
#    those PacketDotNet decodes for it (PPP, IEEE 802.11 bare, radiotap, PPI);
#  - the PacketDotNet frame builder the crafted captures come from, checked against tcpdump.
BeforeDiscovery {
    $corpusDir = Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump'
    $corpus = Get-ChildItem $corpusDir -Filter *.pcap | ForEach-Object { @{ Name = $_.BaseName; Pcap = $_.FullName; Out = [IO.Path]::ChangeExtension($_.FullName, '.out') } }
    $sharedDir = Join-Path $PSScriptRoot '../../shared/corpus/tcpdump'
    $sharedCorpus = if (Test-Path $sharedDir) { , @(Get-ChildItem $sharedDir -File | ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } }) } else { @() }
}

BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    $corpusDir = Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump'
    . (Join-Path $PSScriptRoot 'Support/PacketSupport.ps1')
}

Describe 'The tcpdump corpus: <Name>' -ForEach $corpus {
    BeforeAll {
        $expected = Read-TcpdumpExpectation $Out
        $packets = @{}
        foreach ($p in Read-MptcpCapture -LiteralPath $Pcap -IncludePlainTcp) { $packets[[int]$p.Number] = $p }
    }

    It 'parses every MPTCP option tcpdump printed (nothing left unread)' {
        $expected.Unparsed | Should -BeNullOrEmpty
        $expected.Options.Count | Should -BeGreaterThan 0
    }

    It 'finds the same MPTCP options in every packet, with the same values' {
        $compared = 0
        foreach ($frame in $expected.Frames.Keys) {
            $theirs = @($expected.Frames[$frame])
            $ours = @($packets[[int]$frame].Options)
            $ours.Count | Should -Be $theirs.Count -Because "frame $frame carries $($theirs.Count) MPTCP options in tcpdump's output"
            for ($i = 0; $i -lt $theirs.Count; $i++) {
                Assert-SameOption -Ours $ours[$i] -Theirs $theirs[$i] -Frame $frame
                $compared++
            }
        }
        $compared | Should -Be $expected.Options.Count
    }

    It 'finds no MPTCP option in a frame where tcpdump printed none' {
        foreach ($number in $packets.Keys) {
            if (-not $expected.Frames.Contains("$number")) {
                @($packets[$number].Options).Count | Should -Be 0 -Because "tcpdump printed no MPTCP option in frame $number"
            }
        }
    }
}

# Only where the shared corpus sits next to this clone: then the copy must not have drifted from it.
Describe 'The corpus copy' -ForEach @($sharedCorpus) {
    It 'holds <Name> exactly as the shared corpus does' -ForEach $_ {
        (Get-FileHash (Join-Path $corpusDir $Name)).Hash | Should -Be (Get-FileHash $Path).Hash
    }
}

Describe 'Connection tracking on the corpus' {
    It 'derives the tokens of mptcp-v1 from its keys (SHA-256) and checks them against the keys it saw' {
        $c = @(Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-v1.pcap') -Summary)
        $c.Count | Should -Be 1
        $c[0].Outcome | Should -Be 'Mptcp'
        $c[0].Version | Should -Be 1
        $c[0].ClientKey | Should -Be ([uint64]'0x1fdb5df328bc3def')
        $c[0].ServerKey | Should -Be ([uint64]'0x29a6c86981ad933c')
        $c[0].ClientToken | Should -Be (Get-ExpectedToken 0x1fdb5df328bc3def 'SHA256')
        $c[0].ServerToken | Should -Be (Get-ExpectedToken 0x29a6c86981ad933c 'SHA256')
        $c[0].ClientInitialDataSequence | Should -Be (Get-ExpectedIdsn 0x1fdb5df328bc3def 'SHA256')
        # The first mapping from the client starts at its IDSN + 1 (RFC 8684 3.3.1): tcpdump's packet 9.
        $c[0].ServerInitialDataSequence + 1 | Should -Be ([uint64]'11713449205243392242')
        $c[0].DataFinFromClient | Should -BeTrue
        $c[0].DataFinFromServer | Should -BeTrue
    }

    It 'joins the v0 corpus subflow to its connection through the SHA-1 token, and sees ADD_ADDR and REMOVE_ADDR' {
        $c = @(Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-v0.pcap') -Summary)
        $c.Count | Should -Be 1
        $c[0].Version | Should -Be 0
        $c[0].ServerToken | Should -Be (Get-ExpectedToken $c[0].ServerKey 'SHA1')
        $c[0].Subflows.Count | Should -Be 2
        $join = $c[0].Subflows | Where-Object { -not $_.Initial }
        $join.ServerAddress | Should -Be ([ipaddress]'10.1.2.2')
        $join.Outcome | Should -Be 'Established'
        $c[0].AddAddr[0].Address | Should -Be ([ipaddress]'10.1.2.2')
        $c[0].AddAddr[0].From | Should -Be 'Server'
        $c[0].RemoveAddr[0].AddressIds | Should -Be @(0)
        $join.MappedBytesFromClient + $join.MappedBytesFromServer | Should -BeGreaterThan 0
    }

    It 'sees the MP_FASTCLOSE and the MP_TCPRST reasons' {
        (Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-fclose.pcap') -Summary).FastClose | Should -BeTrue
        $rst = Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-tcprst.pcap') -Summary
        $rst.Subflows[0].Outcome | Should -Be 'Reset'
        $rst.Subflows[0].ResetReason | Should -Be 'MptcpSpecificError'
        $rst.Subflows[0].ResetTransient | Should -BeTrue
        $rst.Outcome | Should -Be 'Incomplete'
    }

    It 'marks the ADD_ADDR of mptcp-aa-v1 as not echoed and keeps its HMAC' {
        $c = Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-aa-v1.pcap') -Summary
        $c.AddAddr.Count | Should -Be 1
        $c.AddAddr[0].Echoed | Should -BeFalse
        $packet = Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-aa-v1.pcap') | Where-Object { $_.Options.Subtype -contains 'AddAddr' }
        ($packet.Options | Where-Object Subtype -eq 'AddAddr').Hmac | Should -Be ([uint64]'0x669928744366716c')
    }
}

Describe 'Subflow outcomes from crafted captures (RFC 8684 3.1-3.2 handshakes)' {
    BeforeAll {
        # An MPTCP v1 connection 192.0.2.2 -> 203.0.113.2:5201, then two joins from 198.51.100.2 that carry the
        # server's token (SHA-256 of its key): one answered with MP_JOIN and reset before its third ACK, one never answered.
        # The frames are built by PacketDotNet (New-TcpFrame), checksums included.
        $serverKey = [uint64]'0x1122334455667788'
        $token = [MptcpTools.Packets.MptcpKeys]::Token($serverKey, 1).ToString('x8')
        $c = '192.0.2.2'; $j = '198.51.100.2'; $s = '203.0.113.2'
        $frames = @(
            (New-TcpFrame $c $s 40000 5201 'Syn' '1e 04 01 01'),
            (New-TcpFrame $s $c 5201 40000 'Syn,Ack' '1e 0c 01 01 11 22 33 44 55 66 77 88'),
            (New-TcpFrame $c $s 40000 5201 'Ack' '1e 14 01 01 aa bb cc dd ee ff 00 11 11 22 33 44 55 66 77 88'),
            (New-TcpFrame $j $s 40001 5201 'Syn' "1e 0c 10 01 $token 00 00 00 01"),
            (New-TcpFrame $s $j 5201 40001 'Syn,Ack' '1e 10 10 00 01 02 03 04 05 06 07 08 00 00 00 02'),
            (New-TcpFrame $j $s 40001 5201 'Rst'),
            (New-TcpFrame $j $s 40002 5201 'Syn' "1e 0c 10 01 $token 00 00 00 03")
        )
        $file = Join-Path $TestDrive 'joins.pcap'
        $times = 0..($frames.Count - 1) | ForEach-Object { [pscustomobject]@{ Time = [DateTime]::UnixEpoch.AddSeconds($_) } }
        Write-PcapFile $file 1 $times $frames
        $summary = @(Read-MptcpCapture -LiteralPath $file -Summary)
    }

    It 'groups both joins under the connection through the token' {
        $summary.Count | Should -Be 1
        $summary[0].Outcome | Should -Be 'Mptcp'
        $summary[0].Subflows.Count | Should -Be 3
        $summary[0].ServerKey | Should -Be $serverKey
    }

    It 'calls a join reset before its third ACK refused, and an unanswered one unanswered' {
        $joins = $summary[0].Subflows | Where-Object { -not $_.Initial } | Sort-Object ClientPort
        "$($joins[0].Outcome)" | Should -Be 'JoinRefused'
        $joins[0].Established | Should -BeFalse
        "$($joins[1].Outcome)" | Should -Be 'SynUnanswered'
        $summary[0].EstablishedSubflows | Should -Be 1
    }

    It 'turns them into JoinRejected and JoinNotAnswered findings' {
        $f = [MptcpTools.Diagnosis.DiagnosisRules]::Evaluate([MptcpTools.Diagnosis.HostFacts]@{ Capture = [MptcpTools.Packets.MptcpConnectionSummary[]]$summary })
        @($f | Where-Object Id -eq 'JoinRejected').Count | Should -Be 1
        @($f | Where-Object Id -eq 'JoinNotAnswered').Count | Should -Be 1
    }
}

Describe 'Options the corpus lacks, crafted from RFC 8684' {
    It '<Case>' -ForEach @(
        @{ Case = 'MP_PRIO without address id (3.3.8, figure 11): backup'; Hex = '1e 03 51'; Flags = 'Ack'; Expect = @{ Subtype = 'MpPrio'; Backup = $true; AddressId = $null } }
        @{ Case = 'MP_PRIO with address id (RFC 6824 form)'; Hex = '1e 04 50 07'; Flags = 'Ack'; Expect = @{ Subtype = 'MpPrio'; Backup = $false; AddressId = 7 } }
        @{ Case = 'MP_FAIL (3.7, figure 16)'; Hex = '1e 0c 60 00 00 00 00 01 00 00 00 2a'; Flags = 'Ack'; Expect = @{ Subtype = 'MpFail'; DataSequence = 4294967338 } }
        @{ Case = 'DSS with 4-byte data ACK and 4-byte DSN mapping (3.3, figure 9)'; Hex = '1e 12 20 05 00 00 00 64 00 00 01 00 00 00 00 01 05 dc'; Flags = 'Ack'; Expect = @{ Subtype = 'Dss'; DataAck = 100; DataSequence = 256; SubflowSequence = 1; DataLength = 1500; Checksum = $null; DataFin = $false } }
        @{ Case = 'DSS with 8-byte data ACK, 8-byte DSN, checksum'; Hex = '1e 1c 20 0f 00 00 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 05 00 10 ab cd'; Flags = 'Ack'; Expect = @{ Subtype = 'Dss'; DataAck = 4294967296; DataSequence = 8589934592; SubflowSequence = 5; DataLength = 16; Checksum = 0xabcd } }
        @{ Case = 'DSS with an 8-byte data ACK only'; Hex = '1e 0c 20 03 00 00 00 00 00 00 00 09'; Flags = 'Ack'; Expect = @{ Subtype = 'Dss'; DataAck = 9; HasMapping = $false } }
        @{ Case = 'DSS DATA_FIN with its 1-byte mapping (3.3.3)'; Hex = '1e 0e 20 14 00 00 00 09 00 00 00 00 00 01'; Flags = 'Ack, Fin'; Expect = @{ Subtype = 'Dss'; DataFin = $true; DataLength = 1; IsInfiniteMapping = $false } }
        @{ Case = 'DSS infinite mapping: data-level length 0 (3.7)'; Hex = '1e 0e 20 04 00 00 00 09 00 00 00 00 00 00'; Flags = 'Ack'; Expect = @{ Subtype = 'Dss'; IsInfiniteMapping = $true } }
        @{ Case = 'ADD_ADDR v1 IPv6 with port and HMAC (3.4.1, figure 12): 30 bytes'; Hex = '1e 1e 30 05 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 09 1f 90 01 02 03 04 05 06 07 08'; Flags = 'Ack'; Expect = @{ Subtype = 'AddAddr'; Version = 1; Echo = $false; AddressId = 5; Address = '2001:db8::9'; Port = 8080; Hmac = 0x0102030405060708 } }
        @{ Case = 'ADD_ADDR v1 IPv6 echo without port: 20 bytes'; Hex = '1e 14 31 05 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 09'; Flags = 'Ack'; Expect = @{ Subtype = 'AddAddr'; Echo = $true; Address = '2001:db8::9'; Port = $null; Hmac = $null } }
        @{ Case = 'ADD_ADDR v1 IPv4 echo with port: 10 bytes'; Hex = '1e 0a 31 02 cb 00 71 02 14 4f'; Flags = 'Ack'; Expect = @{ Subtype = 'AddAddr'; Echo = $true; Address = '203.0.113.2'; Port = 5199 } }
        @{ Case = 'ADD_ADDR v1 IPv4 with port and HMAC: 18 bytes'; Hex = '1e 12 30 02 cb 00 71 02 14 4f 11 22 33 44 55 66 77 88'; Flags = 'Ack'; Expect = @{ Subtype = 'AddAddr'; Echo = $false; Port = 5199; Hmac = 0x1122334455667788 } }
        @{ Case = 'ADD_ADDR v0 IPv6 with port (RFC 6824): 22 bytes'; Hex = '1e 16 36 03 20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 02 00 50'; Flags = 'Ack'; Expect = @{ Subtype = 'AddAddr'; Version = 0; Address = '2001:db8:1::2'; Port = 80 } }
        @{ Case = 'REMOVE_ADDR of three ids (3.4.2, figure 13)'; Hex = '1e 06 40 01 02 03'; Flags = 'Ack'; Expect = @{ Subtype = 'RemoveAddr'; AddressIds = @(1, 2, 3) } }
        @{ Case = 'MP_JOIN SYN with the backup bit (3.2, figure 5)'; Hex = '1e 0c 11 02 de ad be ef 00 00 00 07'; Flags = 'Syn'; Expect = @{ Subtype = 'MpJoin'; Form = 'Syn'; Backup = $true; AddressId = 2; Token = 0xdeadbeefu; Nonce = 7 } }
        @{ Case = 'MP_CAPABLE v1 with data length and checksum (3.1, figure 4): 24 bytes'; Hex = '1e 18 01 81 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 02 00 10 be ef'; Flags = 'Ack'; Expect = @{ Subtype = 'MpCapable'; Form = 'AckWithData'; ChecksumRequired = $true; SenderKey = 1; ReceiverKey = 2; DataLength = 16; Checksum = 0xbeef } }
        @{ Case = 'MP_TCPRST, not transient, middlebox interference (3.6, figure 15)'; Hex = '1e 04 80 06'; Flags = 'Rst'; Expect = @{ Subtype = 'MpTcpRst'; Transient = $false; Reason = 'MiddleboxInterference' } }
        @{ Case = 'MP_TCPRST with a reason RFC 8684 does not define keeps the code'; Hex = '1e 04 81 2a'; Flags = 'Rst'; Expect = @{ Subtype = 'MpTcpRst'; Transient = $true; ReasonCode = 42 } }
        @{ Case = 'MP_FASTCLOSE (3.5, figure 14)'; Hex = '1e 0c 70 00 01 02 03 04 05 06 07 08'; Flags = 'Ack'; Expect = @{ Subtype = 'MpFastClose'; ReceiverKey = 0x0102030405060708 } }
        @{ Case = 'the private-use subtype 0xf is Unknown, not invalid'; Hex = '1e 05 f0 01 02'; Flags = 'Ack'; Expect = @{ Subtype = 'Unknown'; SubtypeValue = 15; IsValid = $true } }
    ) {
        $option = [MptcpTools.Packets.MptcpOptionDecoder]::Decode((ConvertFrom-Hex $Hex), [MptcpTools.Packets.TcpFlags]$Flags)
        $option.IsValid | Should -BeTrue -Because "$option"
        foreach ($key in $Expect.Keys) {
            $value = $option.$key
            if ($key -eq 'Address') { $value = "$value" }
            if ($Expect[$key] -is [array]) { @($value) | Should -Be $Expect[$key] -Because $key }
            elseif ($null -eq $Expect[$key]) { $value | Should -BeNullOrEmpty -Because $key }
            else { $value | Should -Be $Expect[$key] -Because $key }
        }
        $option.ToString() | Should -Not -BeNullOrEmpty
    }

    It 'says what is wrong with <Case>' -ForEach @(
        @{ Case = 'a DSS whose flags ask for more bytes than it has'; Hex = '1e 08 20 05 00 00 00 01'; Problem = '*call for 18 bytes*' }
        @{ Case = 'an MP_JOIN of 13 bytes'; Hex = '1e 0d 10 00 00 00 00 00 00 00 00 00 00'; Problem = '*not 13*' }
        @{ Case = 'an ADD_ADDR without HMAC that is not an echo'; Hex = '1e 08 30 01 c0 00 02 01'; Problem = '*with HMAC*not 8*' }
        @{ Case = 'an MP_TCPRST of 5 bytes'; Hex = '1e 05 80 01 00'; Problem = '*4 bytes, not 5*' }
        @{ Case = 'a 12-byte MP_CAPABLE outside a SYN'; Hex = '1e 0c 01 81 00 00 00 00 00 00 00 01'; Problem = '*SYN*' }
    ) {
        $option = [MptcpTools.Packets.MptcpOptionDecoder]::Decode((ConvertFrom-Hex $Hex), [MptcpTools.Packets.TcpFlags]::Ack)
        $option.IsValid | Should -BeFalse
        $option.Problem | Should -BeLike $Problem
        $option.Raw | Should -Be (($Hex -replace ' ', ''))
    }

    It 'computes tokens and IDSNs as RFC 8684 3.1 says, for both versions' {
        foreach ($key in [uint64]1, [uint64]'0xffffffffffffffff', [uint64]'0x1234567890abcdef') {
            [MptcpTools.Packets.MptcpKeys]::Token($key, 1) | Should -Be (Get-ExpectedToken $key 'SHA256')
            [MptcpTools.Packets.MptcpKeys]::InitialDataSequence($key, 1) | Should -Be (Get-ExpectedIdsn $key 'SHA256')
            [MptcpTools.Packets.MptcpKeys]::Token($key, 0) | Should -Be (Get-ExpectedToken $key 'SHA1')
        }
    }
}

Describe 'Bad input never throws' {
    BeforeAll {
        $allOptions = foreach ($f in Get-ChildItem $corpusDir -Filter *.pcap) {
            foreach ($p in Read-MptcpCapture -LiteralPath $f.FullName) { foreach ($o in $p.Options) { , $o.GetBytes() } }
        }
    }

    It 'turns every corpus option cut at every length into an invalid option, never an exception' {
        $checked = 0
        foreach ($bytes in $allOptions | Select-Object -Unique -Property @{ n = 'h'; e = { [Convert]::ToHexString($_) } }) {
            $full = [Convert]::FromHexString($bytes.h)
            for ($cut = 0; $cut -lt $full.Length; $cut++) {
                # Inside a TCP option list: the length byte still claims the full length.
                $list = [MptcpTools.Packets.MptcpOptionDecoder]::DecodeAll([byte[]]$full[0..([Math]::Max(0, $cut - 1))], [MptcpTools.Packets.TcpFlags]::Ack)
                if ($cut -gt 0) {
                    $list.Count | Should -Be 1
                    $list[0].IsValid | Should -BeFalse
                }
                $checked++
            }
        }
        $checked | Should -BeGreaterThan 500
    }

    It 'survives length fields that lie (0, 1, 2, longer than the list) in every corpus option' {
        foreach ($bytes in $allOptions | Select-Object -First 200) {
            foreach ($lie in 0, 1, 2, 3, 255) {
                $copy = [byte[]]$bytes.Clone(); $copy[1] = $lie
                $list = [MptcpTools.Packets.MptcpOptionDecoder]::DecodeAll($copy, [MptcpTools.Packets.TcpFlags]::Ack)
                if ($lie -ne 3) { $list[0].IsValid | Should -BeFalse }
                $list[0].GetBytes().Length | Should -BeLessOrEqual $copy.Length
            }
        }
    }

    It 'decodes 20000 random option lists without an exception' {
        $random = [Random]::new(8684)
        for ($i = 0; $i -lt 20000; $i++) {
            $bytes = [byte[]]::new($random.Next(1, 41)); $random.NextBytes($bytes)
            if ($i % 2 -eq 0) { $bytes[0] = 30 }
            $null = [MptcpTools.Packets.MptcpOptionDecoder]::DecodeAll($bytes, [MptcpTools.Packets.TcpFlags]($random.Next(0, 256)))
        }
    }
}

Describe 'Damaged and wrong files' {
    It 'reads the frames before the damage of a truncated capture, then says so once' {
        $cut = Join-Path $TestDrive 'cut.pcap'
        $bytes = [IO.File]::ReadAllBytes((Join-Path $corpusDir 'mptcp-v1.pcap'))
        [IO.File]::WriteAllBytes($cut, $bytes[0..($bytes.Length - 30)])
        $packets = @(Read-MptcpCapture -LiteralPath $cut -ErrorVariable err -ErrorAction SilentlyContinue)
        $packets.Count | Should -Be 19
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CaptureTruncated,*'
        $err[0].Exception.Message | Should -Match '19 frames'
        $err[0].TargetObject | Should -Be $cut
    }

    It 'still summarises what came before the damage' {
        $cut = Join-Path $TestDrive 'cut2.pcap'
        $bytes = [IO.File]::ReadAllBytes((Join-Path $corpusDir 'mptcp-v0.pcap'))
        [IO.File]::WriteAllBytes($cut, $bytes[0..([int]($bytes.Length / 2))])
        $summary = @(Read-MptcpCapture -LiteralPath $cut -Summary -ErrorAction SilentlyContinue -ErrorVariable err)
        $summary.Count | Should -Be 1
        $summary[0].Outcome | Should -Be 'Mptcp'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CaptureTruncated,*'
    }

    It 'reports <Case> as <Id> and goes on with the next file' -ForEach @(
        @{ Case = 'a missing file'; Make = { Join-Path $TestDrive 'missing.pcap' }; Id = 'CaptureFileNotFound' }
        @{ Case = 'a directory'; Make = { $d = Join-Path $TestDrive 'dir.pcap'; New-Item -ItemType Directory $d -Force | Out-Null; $d }; Id = 'NotACaptureFile' }
        @{ Case = 'a text file'; Make = { $f = Join-Path $TestDrive 'text.pcap'; Set-Content $f 'this is not a capture'; $f }; Id = 'NotACaptureFile' }
        @{ Case = 'an empty file'; Make = { $f = Join-Path $TestDrive 'empty.pcap'; Set-Content $f -Value $null -NoNewline; $f }; Id = 'NotACaptureFile' }
        @{ Case = 'a corrupted header'; Make = { $f = Join-Path $TestDrive 'hdr.pcap'; $b = [IO.File]::ReadAllBytes((Join-Path $corpusDir 'mptcp-v1.pcap')); $b[0] = 0; $b[1] = 0; [IO.File]::WriteAllBytes($f, $b); $f }; Id = 'NotACaptureFile' }
    ) {
        $bad = & $Make
        $good = Join-Path $corpusDir 'mptcp-tcprst.pcap'
        $out = @(Read-MptcpCapture -LiteralPath $bad, $good -ErrorVariable err -ErrorAction SilentlyContinue)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $out.Count | Should -Be 2
    }

    It 'resolves wildcards in -Path and reads every match' {
        @(Read-MptcpCapture -Path (Join-Path $corpusDir 'mptcp-aa-*.pcap') -Summary).Count | Should -Be 3
    }
}

Describe 'Link types and formats' {
    BeforeAll {
        # mptcp-v0 is Ethernet (mptcp-v1 is Linux cooked, mptcp-tcprst raw IP: the corpus covers those as they are).
        $frames = Read-PcapFrames (Join-Path $corpusDir 'mptcp-v0.pcap')
        $reference = @(Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-v0.pcap') | ForEach-Object { "$($_.Number) $($_.Options -join ';')" })
        # The corpus carries IPv4 only: IPv6 frames from the builder, with MPTCP options, for the link types PacketDotNet reads.
        $v6 = @(
            (New-TcpFrame '2001:db8:1::2' '2001:db8:3::2' 40000 5201 'Syn' '1e 04 01 01'),
            (New-TcpFrame '2001:db8:3::2' '2001:db8:1::2' 5201 40000 'Syn,Ack' '1e 0c 01 01 11 22 33 44 55 66 77 88'),
            (New-TcpFrame '2001:db8:1::2' '2001:db8:3::2' 40000 5201 'Ack' '1e 1e 30 05 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 09 1f 90 01 02 03 04 05 06 07 08' -Payload 100)
        )
        $v6Times = 0..($v6.Count - 1) | ForEach-Object { [pscustomobject]@{ Time = [DateTime]::UnixEpoch.AddSeconds($_) } }
        $v6File = Join-Path $TestDrive 'v6.pcap'
        Write-PcapFile $v6File 1 $v6Times $v6
        $v6Reference = @(Read-MptcpCapture -LiteralPath $v6File | ForEach-Object { "$($_.Number) $_ $($_.Options -join ';')" })
    }

    It 'decodes the same options when the frames are carried as <Name>' -ForEach @(
        @{ Name = 'Linux cooked v1'; LinkType = 113 }
        @{ Name = 'Linux cooked v2'; LinkType = 276 }
        @{ Name = 'raw IP'; LinkType = 101 }
        @{ Name = 'BSD loopback (DLT_NULL)'; LinkType = 0 }
        @{ Name = 'OpenBSD loopback (DLT_LOOP)'; LinkType = 108 }
        @{ Name = 'Ethernet with two VLAN tags'; LinkType = 1; Vlan = $true }
        @{ Name = 'PPP without framing (PacketDotNet)'; LinkType = 9 }
        @{ Name = 'PPP with HDLC-like framing (PacketDotNet)'; LinkType = 9; Hdlc = $true }
        @{ Name = 'PPP_HDLC (PacketDotNet)'; LinkType = 50 }
        @{ Name = 'IEEE 802.11 QoS data (PacketDotNet)'; LinkType = 105 }
        @{ Name = 'IEEE 802.11 under radiotap (PacketDotNet)'; LinkType = 127 }
        @{ Name = 'IEEE 802.11 under PPI (PacketDotNet)'; LinkType = 192 }
    ) {
        $file = Join-Path $TestDrive "$LinkType$Hdlc.pcap"
        $converted = foreach ($f in $frames) { , (Convert-EthernetFrame $f.Data $LinkType -Vlan:([bool]$Vlan) -HdlcFraming:([bool]$Hdlc)) }
        Write-PcapFile $file $LinkType $frames $converted
        @(Read-MptcpCapture -LiteralPath $file | ForEach-Object { "$($_.Number) $($_.Options -join ';')" }) | Should -Be $reference
    }

    It 'decodes the same IPv6 segments when they are carried as link type <LinkType> (PacketDotNet)' -ForEach @(
        @{ LinkType = 9 }, @{ LinkType = 105 }, @{ LinkType = 127 }, @{ LinkType = 192 }
    ) {
        $file = Join-Path $TestDrive "v6-$LinkType.pcap"
        Write-PcapFile $file $LinkType $v6Times @(foreach ($f in $v6) { , (Convert-EthernetFrame $f $LinkType) })
        @(Read-MptcpCapture -LiteralPath $file | ForEach-Object { "$($_.Number) $_ $($_.Options -join ';')" }) | Should -Be $v6Reference
    }

    It 'reads PPP frames cut short by the snap length as the fast path reads the Ethernet ones cut at the same place' {
        # Cut every frame 44 bytes into its IP packet: into the TCP options of most.
        $cutEthernet = foreach ($f in $frames) { , [byte[]]$f.Data[0..([Math]::Min($f.Data.Length, 14 + 44) - 1)] }
        $cutPpp = foreach ($f in $frames) { $ppp = Convert-EthernetFrame $f.Data 9; , [byte[]]$ppp[0..([Math]::Min($ppp.Length, 2 + 44) - 1)] }
        Write-PcapFile (Join-Path $TestDrive 'cut-eth.pcap') 1 $frames $cutEthernet
        Write-PcapFile (Join-Path $TestDrive 'cut-ppp.pcap') 9 $frames $cutPpp
        $expected = @(Read-MptcpCapture -LiteralPath (Join-Path $TestDrive 'cut-eth.pcap') -IncludePlainTcp | ForEach-Object { "$_ $($_.Options -join ';')" })
        $expected.Count | Should -Be $reference.Count
        @(Read-MptcpCapture -LiteralPath (Join-Path $TestDrive 'cut-ppp.pcap') -IncludePlainTcp | ForEach-Object { "$_ $($_.Options -join ';')" }) | Should -Be $expected
    }

    It 'reports a link type neither the fast path nor PacketDotNet reads (<LinkType>) as UnsupportedLinkType' -ForEach @(
        @{ LinkType = 104 }, @{ LinkType = 147 }
    ) {
        $file = Join-Path $TestDrive "unsupported-$LinkType.pcap"
        Write-PcapFile $file $LinkType $frames @(foreach ($f in $frames) { , $f.Data })
        $out = @(Read-MptcpCapture -LiteralPath $file -ErrorVariable err -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 0
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UnsupportedLinkType,*'
        $err[0].Exception.Message | Should -BeLike "*link-layer type $LinkType *"
    }

    It 'reads the pcapng it writes, with the same objects as the pcap' {
        $file = Join-Path $TestDrive 'v1.pcapng'
        $writer = [MptcpTools.Packets.PcapNgWriter]::new($file, 65535)
        try { foreach ($f in $frames) { $writer.Write(1, 'eth0', $f.Data, $f.Data.Length, $f.Time) } } finally { $writer.Dispose() }
        $a = Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-v0.pcap') -IncludePlainTcp
        $b = Read-MptcpCapture -LiteralPath $file -IncludePlainTcp
        ($b | ForEach-Object { "$($_.Timestamp.Ticks) $_" }) | Should -Be ($a | ForEach-Object { "$($_.Timestamp.Ticks) $_" })
    }
}

Describe 'The PacketDotNet frame builder, against tcpdump' {
    BeforeAll {
        # Frames over both address families, with payload, each carrying MPTCP options tcpdump can print.
        $crafted = @(
            @{ Src = '192.0.2.2'; Dst = '203.0.113.2'; SPort = 40000; DPort = 5201; Flags = 'Syn'; Hex = '1e 04 01 01'; Seq = 1000; Ack = 0; Payload = 0 }
            @{ Src = '203.0.113.2'; Dst = '192.0.2.2'; SPort = 5201; DPort = 40000; Flags = 'Syn,Ack'; Hex = '1e 0c 01 01 11 22 33 44 55 66 77 88'; Seq = 5000; Ack = 1001; Payload = 0 }
            @{ Src = '192.0.2.2'; Dst = '203.0.113.2'; SPort = 40000; DPort = 5201; Flags = 'Ack,Psh'; Hex = '1e 12 20 05 00 00 00 64 00 00 01 00 00 00 00 01 05 dc'; Seq = 1001; Ack = 5001; Payload = 1460 }
            @{ Src = '2001:db8:1::2'; Dst = '2001:db8:3::2'; SPort = 40001; DPort = 5201; Flags = 'Syn'; Hex = '1e 0c 11 02 de ad be ef 00 00 00 07'; Seq = 7; Ack = 0; Payload = 0 }
            @{ Src = '2001:db8:3::2'; Dst = '2001:db8:1::2'; SPort = 5201; DPort = 40001; Flags = 'Ack'; Hex = '1e 1e 30 05 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 09 1f 90 01 02 03 04 05 06 07 08'; Seq = 9; Ack = 8; Payload = 10 }
            @{ Src = '2001:db8:1::2'; Dst = '2001:db8:3::2'; SPort = 40001; DPort = 5201; Flags = 'Rst,Ack'; Hex = '1e 0c 70 00 01 02 03 04 05 06 07 08'; Seq = 8; Ack = 10; Payload = 0 }
        )
        $built = foreach ($c in $crafted) { , (New-TcpFrame $c.Src $c.Dst $c.SPort $c.DPort $c.Flags $c.Hex -Seq $c.Seq -Ack $c.Ack -Payload $c.Payload) }
        $times = 0..($crafted.Count - 1) | ForEach-Object { [pscustomobject]@{ Time = [DateTime]::UnixEpoch.AddSeconds(1700000000 + $_).AddTicks(1234560 * $_) } }
        $file = Join-Path $TestDrive 'built.pcap'
        Write-PcapFile $file 1 $times $built
        $tcpdump = Get-Command tcpdump -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    }

    It 'writes frames whose IP and TCP checksums, addresses, ports, flags, numbers, lengths and MPTCP options tcpdump confirms' {
        $tcpdump | Should -Not -BeNullOrEmpty -Because 'tcpdump is the reference (build.ps1 -Task Test installs it)'
        $text = Join-Path $TestDrive 'built.out'
        & $tcpdump.Source -# -n -S -vv -r $file 2>$null | Set-Content $text
        $lines = @{}; $current = $null
        foreach ($line in Get-Content $text) {
            if ($line -match '^\s*(\d+)\s\s(.*)$') { $current = [int]$Matches[1]; $lines[$current] = $Matches[2] } else { $lines[$current] += ' ' + $line.Trim() }
        }
        $lines.Count | Should -Be $crafted.Count
        $expected = Read-TcpdumpExpectation $text
        $expected.Unparsed | Should -BeNullOrEmpty
        $flagText = @{ Syn = 'S'; 'Syn,Ack' = 'S.'; 'Ack,Psh' = 'P.'; Ack = '.'; 'Rst,Ack' = 'R.' }
        for ($i = 0; $i -lt $crafted.Count; $i++) {
            $c = $crafted[$i]; $line = $lines[$i + 1]
            $line | Should -Not -Match 'bad cksum|incorrect' -Because $line
            $line | Should -Match 'cksum 0x[0-9a-f]+ \(correct\)' -Because $line
            $line | Should -Match ([regex]::Escape("$($c.Src).$($c.SPort) > $($c.Dst).$($c.DPort): Flags [$($flagText[$c.Flags])]")) -Because $line
            $line | Should -Match "seq $($c.Seq)\b" -Because $line
            if ($c.Ack) { $line | Should -Match "ack $($c.Ack)\b" -Because $line }
            $line | Should -Match "length $($c.Payload)$" -Because $line
            $theirs = @($expected.Frames["$($i + 1)"])
            $theirs.Count | Should -Be 1 -Because $line
            $ours = [MptcpTools.Packets.MptcpOptionDecoder]::Decode((ConvertFrom-Hex $c.Hex), [MptcpTools.Packets.TcpFlags]$c.Flags)
            Assert-SameOption -Ours $ours -Theirs $theirs[0] -Frame ($i + 1)
        }
    }

    It 'writes the same frames and timestamps to pcapng as to pcap' {
        $ng = Join-Path $TestDrive 'built.pcapng'
        Write-PcapFile $ng 1 $times $built -Format PcapNg
        $fromPcap = @(Read-MptcpCapture -LiteralPath $file -IncludePlainTcp | ForEach-Object { "$($_.Timestamp.Ticks) $_ $($_.Options -join ';')" })
        $fromPcap.Count | Should -Be $crafted.Count
        @(Read-MptcpCapture -LiteralPath $ng -IncludePlainTcp | ForEach-Object { "$($_.Timestamp.Ticks) $_ $($_.Options -join ';')" }) | Should -Be $fromPcap
        for ($i = 0; $i -lt $crafted.Count; $i++) { $fromPcap[$i] | Should -BeLike "$($times[$i].Time.Ticks) *" }
    }

    It 'refuses options that do not fit a TCP header, and mixed address families' {
        $builder = [MptcpTools.Packets.TcpFrameBuilder]::new([ipaddress]'192.0.2.2', 1, [ipaddress]'192.0.2.3', 2)
        $builder.Options.Add([byte[]]::new(30)); $builder.Options.Add([byte[]]::new(11))
        { $builder.Build() } | Should -Throw '*41 bytes*40*'
        { [MptcpTools.Packets.TcpFrameBuilder]::new([ipaddress]'192.0.2.2', 1, [ipaddress]'2001:db8::1', 2) } | Should -Throw '*address family*'
    }
}
