## Special functions (torch.special and the gamma/Bessel/error-function family of torch.*) as device functions
## that elementwise expressions call (sp_digamma(x0), sp_polygamma(n, x0) ...). templates/elementwise.mako emits
## `helpers` for the real types of a kernel whose expression names an sp_ function. Algorithms are those of
## PyTorch's CPU kernels (Cephes' polynomial and Chebyshev expansions, Euler-Maclaurin for zeta, Newton steps
## for erfinv), written once per real type R: float functions compute in float (as PyTorch's float kernels do),
## double functions in double.
<%!
# Chebyshev coefficients of exp(-x) I0(x) on [0, 8] and of exp(-x) sqrt(x) I0(x) on [8, inf) (Cephes i0.c)
I0_A = ("-4.41534164647933937950E-18 3.33079451882223809783E-17 -2.43127984654795469359E-16 "
        "1.71539128555513303061E-15 -1.16853328779934516808E-14 7.67618549860493561688E-14 "
        "-4.85644678311192946090E-13 2.95505266312963983461E-12 -1.72682629144155570723E-11 "
        "9.67580903537323691224E-11 -5.18979560163526290666E-10 2.65982372468238665035E-9 "
        "-1.30002500998624804212E-8 6.04699502254191894932E-8 -2.67079385394061173391E-7 "
        "1.11738753912010371815E-6 -4.41673835845875056359E-6 1.64484480707288970893E-5 "
        "-5.75419501008210370398E-5 1.88502885095841655729E-4 -5.76375574538582365885E-4 "
        "1.63947561694133579842E-3 -4.32430999505057594430E-3 1.05464603945949983183E-2 "
        "-2.37374148058994688156E-2 4.93052842396707084878E-2 -9.49010970480476444210E-2 "
        "1.71620901522208775349E-1 -3.04682672343198398683E-1 6.76795274409476084995E-1").split()
I0_B = ("-7.23318048787475395456E-18 -4.83050448594418207126E-18 4.46562142029675999901E-17 "
        "3.46122286769746109310E-17 -2.82762398051658348494E-16 -3.42548561967721913462E-16 "
        "1.77256013305652638360E-15 3.81168066935262242075E-15 -9.55484669882830764870E-15 "
        "-4.15056934728722208663E-14 1.54008621752140982691E-14 3.85277838274214270114E-13 "
        "7.18012445138366623367E-13 -1.79417853150680611778E-12 -1.32158118404477131188E-11 "
        "-3.14991652796324136454E-11 1.18891471078464383424E-11 4.94060238822496958910E-10 "
        "3.39623202570838634515E-9 2.26666899049817806459E-8 2.04891858946906374183E-7 "
        "2.89137052083475648297E-6 6.88975834691682398426E-5 3.36911647825569408990E-3 "
        "8.04490411014108831608E-1").split()
# exp(-x) I1(x) / x on [0, 8] and exp(-x) sqrt(x) I1(x) on [8, inf) (Cephes i1.c); float uses the last terms
I1_A = ("2.77791411276104639959E-18 -2.11142121435816608115E-17 1.55363195773620046921E-16 "
        "-1.10559694773538630805E-15 7.60068429473540693410E-15 -5.04218550472791168711E-14 "
        "3.22379336594557470981E-13 -1.98397439776494371520E-12 1.17361862988909016308E-11 "
        "-6.66348972350202774223E-11 3.62559028155211703701E-10 -1.88724975172282928790E-9 "
        "9.38153738649577178388E-9 -4.44505912879632808065E-8 2.00329475355213526229E-7 "
        "-8.56872026469545474066E-7 3.47025130813767847674E-6 -1.32731636560394358279E-5 "
        "4.78156510755005422638E-5 -1.61760815825896745588E-4 5.12285956168575772895E-4 "
        "-1.51357245063125314899E-3 4.15642294431288815669E-3 -1.05640848946261981558E-2 "
        "2.47264490306265168283E-2 -5.29459812080949914269E-2 1.02643658689847095384E-1 "
        "-1.76416518357834055153E-1 2.52587186443633654823E-1").split()
I1_B = ("7.51729631084210481353E-18 4.41434832307170791151E-18 -4.65030536848935832153E-17 "
        "-3.20952592199342395980E-17 2.96262899764595013876E-16 3.30820231092092828324E-16 "
        "-1.88035477551078244854E-15 -3.81440307243700780478E-15 1.04202769841288027642E-14 "
        "4.27244001671195135429E-14 -2.10154184277266431302E-14 -4.08355111109219731823E-13 "
        "-7.19855177624590851209E-13 2.03562854414708950722E-12 1.41258074366137813316E-11 "
        "3.25260358301548823856E-11 -1.89749581235054123450E-11 -5.58974346219658380687E-10 "
        "-3.83538038596423702205E-9 -2.63146884688951950684E-8 -2.51223623787020892529E-7 "
        "-3.88256480887769039346E-6 -1.10588938762623716291E-4 -9.76109749136146840777E-3 "
        "7.78576235018280120474E-1").split()
# asymptotic digamma: 1/x^2 polynomial (Cephes psi.c)
PSI_A = ("8.33333333333333333333E-2 -2.10927960927960927961E-2 7.57575757575757575758E-3 "
         "-4.16666666666666666667E-3 3.96825396825396825397E-3 -8.33333333333333333333E-3 "
         "8.33333333333333333333E-2").split()
# ndtri rational approximations (Cephes ndtri.c): central, z in [2, 8), z in [8, 64)
NDTRI_P0 = ("-5.99633501014107895267E1 9.80010754185999661536E1 -5.66762857469070293439E1 "
            "1.39312609387279679503E1 -1.23916583867381258016E0").split()
NDTRI_Q0 = ("1.00000000000000000000E0 1.95448858338141759834E0 4.67627912898881538453E0 8.63602421390890590575E1 "
            "-2.25462687854119370527E2 2.00260212380060660359E2 -8.20372256168333339912E1 "
            "1.59056225126211695515E1 -1.18331621121330003142E0").split()
NDTRI_P1 = ("4.05544892305962419923E0 3.15251094599893866154E1 5.71628192246421288162E1 4.40805073893200834700E1 "
            "1.46849561928858024014E1 2.18663306850790267539E0 -1.40256079171354495875E-1 "
            "-3.50424626827848203418E-2 -8.57456785154685413611E-4").split()
NDTRI_Q1 = ("1.00000000000000000000E0 1.57799883256466749731E1 4.53907635128879210584E1 4.13172038254672030440E1 "
            "1.50425385692907503408E1 2.50464946208309415979E0 -1.42182922854787788574E-1 "
            "-3.80806407691578277194E-2 -9.33259480895457427372E-4").split()
NDTRI_P2 = ("3.23774891776946035970E0 6.91522889068984211695E0 3.93881025292474443415E0 1.33303460815807542389E0 "
            "2.01485389549179081538E-1 1.23716634817820021358E-2 3.01581553508235416007E-4 "
            "2.65806974686737550832E-6 6.23974539184983293730E-9").split()
NDTRI_Q2 = ("1.00000000000000000000E0 6.02427039364742014255E0 3.67983563856160859403E0 1.37702099489081330271E0 "
            "2.16236993594496635890E-1 1.34204006088543189037E-2 3.28014464682127739104E-4 "
            "2.89247864745380683936E-6 6.79019408009981274425E-9").split()
# Euler-Maclaurin coefficients of Hurwitz zeta (Cephes zeta.c): (2k)! / B_2k
ZETA_A = ("12.0 -720.0 30240.0 -1209600.0 47900160.0 -1.8924375803183791606e9 7.47242496e10 "
          "-2.950130727918164224e12 1.1646782814350067249e14 -4.5979787224074726105e15 "
          "1.8152105401943546773e17 -7.1661652561756670113e18").split()


def uses(used, prefixes):
    """Whether one of the function names `used` starts with one of `prefixes`."""
    return any(u.startswith(q) for u in used for q in prefixes)


def lit(v, R):
    """A literal of real type R."""
    s = v if any(c in v for c in ".eE") else v + ".0"
    return s + ("f" if R == "float" else "")


def arr(name, vals, R):
    return "__constant %s %s_%s[%d] = {%s};" % (R, name, R, len(vals), ", ".join(lit(v, R) for v in vals))
%>

<%def name="helpers(dts, text)">
<%
    import re
    names = set(t.name for t in dts)
    reals = ["float"] + (["double"] if names & {"float64", "complex128"} else [])
    used = set(re.findall(r"sp_[a-z0-9_]+", text))
    # the function groups the expression calls (each kernel builds only those: compile time)
    G = set()
    if uses(used, ("sp_digamma", "sp_trigamma", "sp_zeta", "sp_polygamma")): G.add("gamma")
    if uses(used, ("sp_erfinv", "sp_ndtr", "sp_ndtri", "sp_erfcx", "sp_log_ndtr")): G.add("erf")
    if uses(used, ("sp_bessel", "sp_mbessel", "sp_airy", "sp_spherical")): G.update(("bessel", "i"))
    if uses(used, ("sp_i0", "sp_i1")): G.add("i")
    if uses(used, ("sp_cheb", "sp_scheb", "sp_hermite", "sp_laguerre", "sp_legendre")): G.add("poly")
    if uses(used, ("sp_igamma",)): G.add("igamma")
%>
% for R in reals:
${funcs(R, G)}
% endfor
${int_funcs(uses(used, ("sp_gcd", "sp_lcm")), uses(used, ("sp_nextafter_half",)))}
</%def>

<%def name="int_funcs(gcd, nh)">
% if gcd:
/* gcd, lcm of integers (PyTorch's calc_gcd: Euclid on absolute values; lcm = |a / gcd * b|) */
% for I in ("uchar", "char", "short", "int", "long"):
static inline OVL ${I} sp_gcd(${I} a, ${I} b) {
    a = a < 0 ? -a : a;
    b = b < 0 ? -b : b;
    while (a != 0) { const ${I} c = a; a = b % a; b = c; }
    return b;
}
static inline OVL ${I} sp_lcm(${I} a, ${I} b) {
    const ${I} g = sp_gcd(a, b);
    if (g == 0) return 0;
    const ${I} r = a / g * b;
    return r < 0 ? -r : r;
}
% endfor
% endif
% if nh:
/* nextafter in float16 precision for half values held in float: a step of one half-precision ulp towards b */
static inline float sp_nextafter_half(float a, float b) {
    if (isnan(a) || isnan(b)) return a + b;
    if (a == b) return b;
    if (a == 0) return copysign(5.9604644775390625e-8f, b);
    if (isinf(a)) return copysign(65504.0f, a);
    int e;
    const float m = frexp(a, &e);
    float ulp = ldexp(1.0f, max(e - 11, -24));
    const bool up = b > a;
    if ((a > 0) != up && fabs(m) == 0.5f && e - 12 >= -24) ulp *= 0.5f;
    return up ? a + ulp : a - ulp;
}
% endif
</%def>

<%def name="funcs(R, G)">
<%
    F = "f" if R == "float" else ""
    L = lambda v: lit(v, R)
    i1a = I1_A if R == "double" else I1_A[12:]
    i1b = I1_B if R == "double" else I1_B[18:]
%>
/* ---- special functions, ${R} ---- */
% if "i" in G:
${arr("sp_i0a", I0_A, R)}
${arr("sp_i0b", I0_B, R)}
${arr("sp_i1a", i1a, R)}
${arr("sp_i1b", i1b, R)}
% endif
% if "erf" in G:
${arr("sp_ndp0", NDTRI_P0, R)}
${arr("sp_ndq0", NDTRI_Q0, R)}
${arr("sp_ndp1", NDTRI_P1, R)}
${arr("sp_ndq1", NDTRI_Q1, R)}
${arr("sp_ndp2", NDTRI_P2, R)}
${arr("sp_ndq2", NDTRI_Q2, R)}
% endif
% if "gamma" in G:
${arr("sp_psia", PSI_A, R)}
${arr("sp_zetaa", ZETA_A, R)}
% if R == "float":
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
__constant double sp_zetaa_acc_f[12] = {${", ".join(ZETA_A)}};
#endif
% endif
% endif

/* polynomial with coefficients c[0] (highest degree) .. c[n-1] */
static inline OVL ${R} sp_polevl(${R} x, __constant ${R}* c, int n) {
    ${R} r = c[0];
    for (int i = 1; i < n; i++) r = r * x + c[i];
    return r;
}
/* Chebyshev series sum c[i] T_i(x/2), coefficients in reverse order (Cephes chbevl) */
static inline OVL ${R} sp_chbevl(${R} x, __constant ${R}* c, int n) {
    ${R} b0 = c[0], b1 = 0, b2 = 0;
    for (int i = 1; i < n; i++) { b2 = b1; b1 = b0; b0 = x * b1 - b2 + c[i]; }
    return (${R})0.5 * (b0 - b2);
}

% if "gamma" in G:
/* digamma: reflection for x < 0 (on the fractional part: tan(pi r) is exact-er than tan(pi x)), recurrence up
   to x >= 10, then the asymptotic series; poles: +-0 -> -+inf, negative integers -> nan */
static inline OVL ${R} sp_digamma_pos(${R} x) {
    ${R} result = 0;
    while (x < 10) { result -= 1 / x; x += 1; }
    if (x == 10) return result + ${L("2.25175258906672110764")};
    ${R} y = 0;
    if (x < ${L("1.0e17")}) { const ${R} z = 1 / (x * x); y = z * sp_polevl(z, sp_psia_${R}, 7); }
    return result + log(x) - ${L("0.5")} / x - y;
}
static inline OVL ${R} sp_digamma(${R} x) {
    if (x == 0) return copysign((${R})INFINITY, -x);
    if (x < 0) {
        if (x == trunc(x)) return (${R})NAN;
% if R == "float":
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
        const float pt = (float)(3.14159265358979323846 / tan(3.14159265358979323846 * (double)(x - trunc(x))));
#else
        const float pt = M_PI_F / tan(M_PI_F * (x - trunc(x)));
#endif
% else:
        const double pt = M_PI / tan(M_PI * (x - trunc(x)));
% endif
        return sp_digamma_pos(1 - x) - pt;
    }
    return sp_digamma_pos(x);
}

/* trigamma: reflection below 0.5, six recurrence steps, asymptotic series */
static inline OVL ${R} sp_trigamma(${R} x) {
    ${R} sign = 1, result = 0;
    if (x < ${L("0.5")}) {
        sign = -1;
        const ${R} s = sin(M_PI${"_F" if R == "float" else ""} * x);
        result -= (M_PI${"_F" if R == "float" else ""} * M_PI${"_F" if R == "float" else ""}) / (s * s);
        x = 1 - x;
    }
    for (int i = 0; i < 6; i++) { result += 1 / (x * x); x += 1; }
    const ${R} ixx = 1 / (x * x);
    result += (1 + 1 / (2 * x) + ixx * (${L("1")} / 6 - ixx * (${L("1")} / 30 - ixx * (${L("1")} / 42)))) / x;
    return sign * result;
}

/* Hurwitz zeta(x, q) (Euler-Maclaurin; Cephes zeta.c). PyTorch's CPU kernels sum in double for float
   arguments: so does the float version where the device has fp64 */
% if R == "float":
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
${zeta("sp_zeta_acc_f", "double", "sp_zetaa_acc_f")}
static inline OVL float sp_zeta(float x, float q) { return (float)sp_zeta_acc_f((double)x, (double)q); }
#else
${zeta("sp_zeta", "float", "sp_zetaa_float")}
#endif
% else:
${zeta("sp_zeta", R, "sp_zetaa_" + R)}
% endif

/* polygamma(n, x), n >= 0 */
static inline OVL ${R} sp_polygamma(int n, ${R} x) {
    if (n == 0) return sp_digamma(x);
    if (n == 1) return sp_trigamma(x);
    const ${R} fn = (${R})n;
    return ((n & 1) ? (${R})1 : (${R})-1) * exp(lgamma(fn + 1)) * sp_zeta(fn + 1, x);
}

% endif
% if "erf" in G:
/* erfinv: rational first guess, two Newton steps */
static inline OVL ${R} sp_erfinv(${R} y) {
    const ${R} ya = fabs(y);
    if (ya > 1) return (${R})NAN;
    if (ya == 1) return copysign((${R})INFINITY, y);
    ${R} x;
    if (ya <= ${L("0.7")}) {
        const ${R} z = y * y;
        const ${R} num = ((${L("-0.140543331")} * z + ${L("0.914624893")}) * z + ${L("-1.645349621")}) * z + ${L("0.886226899")};
        const ${R} dem = (((${L("0.012229801")} * z + ${L("-0.329097515")}) * z + ${L("1.442710462")}) * z + ${L("-2.118377725")}) * z + 1;
        x = y * num / dem;
    } else {
        const ${R} z = sqrt(-log((1 - ya) / 2));
        const ${R} num = ((${L("1.641345311")} * z + ${L("3.429567803")}) * z + ${L("-1.624906493")}) * z + ${L("-1.970840454")};
        const ${R} dem = (${L("1.637067800")} * z + ${L("3.543889200")}) * z + 1;
        x = copysign(num, y) / dem;
    }
    const ${R} k = ${L("1.12837916709551257390")};      /* 2 / sqrt(pi) */
    x = x - (erf(x) - y) / (k * exp(-x * x));
    x = x - (erf(x) - y) / (k * exp(-x * x));
    return x;
}

% endif
% if "i" in G:
/* modified Bessel functions of the first kind, orders 0 and 1, and their exp(-|x|)-scaled forms */
static inline OVL ${R} sp_i0e(${R} x) {
    x = fabs(x);
    if (x <= 8) return sp_chbevl(x / 2 - 2, sp_i0a_${R}, 30);
    return sp_chbevl(32 / x - 2, sp_i0b_${R}, 25) / sqrt(x);
}
static inline OVL ${R} sp_i0(${R} x) {
    x = fabs(x);
    if (x <= 8) return exp(x) * sp_chbevl(x / 2 - 2, sp_i0a_${R}, 30);
    return exp(x) * sp_chbevl(32 / x - 2, sp_i0b_${R}, 25) / sqrt(x);
}
static inline OVL ${R} sp_i1(${R} x0) {
    const ${R} x = fabs(x0);
    ${R} r;
    if (x <= 8) r = exp(x) * x * sp_chbevl(x / 2 - 2, sp_i1a_${R}, ${len(i1a)});
    else r = exp(x) * sp_chbevl(32 / x - 2, sp_i1b_${R}, ${len(i1b)}) / sqrt(x);
    return x0 < 0 ? -r : r;
}
static inline OVL ${R} sp_i1e(${R} x0) {
    const ${R} x = fabs(x0);
    ${R} r;
    if (x <= 8) r = sp_chbevl(x / 2 - 2, sp_i1a_${R}, ${len(i1a)}) * x;
    else r = sp_chbevl(32 / x - 2, sp_i1b_${R}, ${len(i1b)}) / sqrt(x);
    return x0 < 0 ? -r : r;
}

% endif
% if "erf" in G:
/* standard normal CDF, its inverse and its logarithm */
static inline OVL ${R} sp_ndtr(${R} a) {
    const ${R} x = a * ${L("0.70710678118654752440")};
    const ${R} z = fabs(x);
    if (z < ${L("0.70710678118654752440")}) return ${L("0.5")} + ${L("0.5")} * erf(x);
    const ${R} y = ${L("0.5")} * erfc(z);
    return x > 0 ? 1 - y : y;
}
static inline OVL ${R} sp_ndtri(${R} y0) {
    if (y0 == 0) return -(${R})INFINITY;
    if (y0 == 1) return (${R})INFINITY;
    if (y0 < 0 || y0 > 1 || isnan(y0)) return (${R})NAN;
    bool code = true;
    ${R} y = y0;
    if (y > 1 - ${L("0.13533528323661269189")}) { y = 1 - y; code = false; }
    if (y > ${L("0.13533528323661269189")}) {
        y = y - ${L("0.5")};
        const ${R} y2 = y * y;
        const ${R} x = y + y * (y2 * sp_polevl(y2, sp_ndp0_${R}, 5) / sp_polevl(y2, sp_ndq0_${R}, 9));
        return x * ${L("2.50662827463100050242")};
    }
    ${R} x = sqrt(-2 * log(y));
    const ${R} x0 = x - log(x) / x;
    const ${R} z = 1 / x;
    const ${R} x1 = x < 8 ? z * sp_polevl(z, sp_ndp1_${R}, 9) / sp_polevl(z, sp_ndq1_${R}, 9)
                          : z * sp_polevl(z, sp_ndp2_${R}, 9) / sp_polevl(z, sp_ndq2_${R}, 9);
    x = x0 - x1;
    return code ? -x : x;
}

/* erfcx(x) = exp(x^2) erfc(x), x >= 0: erfc(x) exp(x^2) with x^2 split exactly (x*x = p + e, fma) while erfc(x)
   is a normal number; beyond, the asymptotic series 1/(x sqrt(pi)) sum (-1)^k (2k-1)!! / (2x^2)^k */
static inline OVL ${R} sp_erfcx_pos(${R} x) {
% if R == "double":
    if (x < 25) {
% else:
    if (x < 9) {
% endif
        const ${R} p = x * x, e = fma(x, x, -p);
        return erfc(x) * exp(p) * (1 + e);
    }
    if (isinf(x)) return 0;
    const ${R} h = 1 / (2 * x * x);
    ${R} t = 1, s = 1;
    for (int k = 1; k < 14; k++) { t *= -(2 * k - 1) * h; s += t; }
    return s / (x * ${L("1.77245385090551602730")});
}
static inline OVL ${R} sp_erfcx(${R} x) {
    if (isnan(x)) return x;
    if (x >= 0) return sp_erfcx_pos(x);
    /* as PyTorch's: 2 exp(x^2) with x^2 rounded (it dominates below -6.1), overflowing below ~-26.6 (double)
       or ~-9.4 (float) */
    if (x < ${L("-26.7")}) return (${R})INFINITY;
    if (x < ${L("-6.1")}) return 2 * exp(x * x);
    return 2 * exp(x * x) - sp_erfcx_pos(-x);
}
static inline OVL ${R} sp_log_ndtr(${R} x) {
    const ${R} t = x * ${L("0.70710678118654752440")};
    if (x < -1) return log(sp_erfcx(-t) / 2) - t * t;
    return log1p(-erfc(t) / 2);
}

% endif
/* entr(x) = -x log(x); xlog1py(x, y) = x log1p(y) (0 where x == 0 and y is not nan) */
static inline OVL ${R} sp_entr(${R} x) {
    if (isnan(x)) return x;
    if (x > 0) return -x * log(x);
    if (x == 0) return 0;
    return -(${R})INFINITY;
}
/* frexp: mantissa in [0.5, 1) and exponent (as a real); inf/nan keep their value with exponent 0, as
   PyTorch's; sp_frexp_s = 2^-exponent (the mantissa's derivative) */
static inline OVL ${R} sp_frexp_m(${R} x) {
    if (!isfinite(x)) return x;
    int e;
    return frexp(x, &e);
}
static inline OVL ${R} sp_frexp_e(${R} x) {
    if (!isfinite(x)) return 0;
    int e;
    frexp(x, &e);
    return (${R})e;
}
static inline OVL ${R} sp_frexp_s(${R} x) {
    if (!isfinite(x)) return 1;
    int e;
    frexp(x, &e);
    return ldexp((${R})1, -e);
}
static inline OVL ${R} sp_xlog1py(${R} x, ${R} y) {
    if (isnan(y)) return y;
    if (x == 0) return 0;
    return x * log1p(y);
}
% if "bessel" in G:
${bessel(R)}
% endif
% if "poly" in G:
${poly(R)}
% endif
% if "igamma" in G:
${igamma(R)}
% endif
</%def>

<%def name="zeta(name, A, tab)">
static inline OVL ${A} ${name}(${A} x, ${A} q) {
    const ${A} MACHEP = (${A})1.11022302462515654042E-16;
    if (x == 1) return (${A})INFINITY;
    if (x < 1) return (${A})NAN;
    if (q <= 0) {
        if (q == floor(q)) return (${A})INFINITY;
        if (x != floor(x)) return (${A})NAN;
    }
    ${A} s = pow(q, -x), a = q, b = 0;
    int i = 0;
    while (i < 9 || a <= 9) {
        i += 1;
        a += 1;
        b = pow(a, -x);
        s += b;
        if (-MACHEP * s < b && b < MACHEP * s) return s;
    }
    const ${A} w = a;
    s += b * w / (x - 1);
    s -= (${A})0.5 * b;
    a = 1;
    ${A} k = 0;
    for (i = 0; i < 12; i++) {
        a *= x + k;
        b /= w;
        ${A} t = a * b / ${tab}[i];
        s = s + t;
        t = fabs(t / s);
        if (t < MACHEP) return s;
        k += 1;
        a *= x + k;
        b /= w;
        k += 1;
    }
    return s;
}
</%def>

<%!
# Bessel functions of the first and second kind, orders 0 and 1 (Cephes j0.c / j1.c as PyTorch's kernels use them):
# P/Q asymptotic rationals in (5/x)^2 for x > 5; R (J) and Y rationals in x^2 for x <= 5
J0_PP = "7.96936729297347051624e-04 8.28352392107440799803e-02 1.23953371646414299388e+00 5.44725003058768775090e+00 8.74716500199817011941e+00 5.30324038235394892183e+00 9.99999999999999997821e-01".split()
J0_PQ = "9.24408810558863637013e-04 8.56288474354474431428e-02 1.25352743901058953537e+00 5.47097740330417105182e+00 8.76190883237069594232e+00 5.30605288235394617618e+00 1.00000000000000000218e+00".split()
J0_QP = "-1.13663838898469149931e-02 -1.28252718670509318512e+00 -1.95539544257735972385e+01 -9.32060152123768231369e+01 -1.77681167980488050595e+02 -1.47077505154951170175e+02 -5.14105326766599330220e+01 -6.05014350600728481186e+00".split()
J0_QQ = "6.43178256118178023184e+01 8.56430025976980587198e+02 3.88240183605401609683e+03 7.24046774195652478189e+03 5.93072701187316984827e+03 2.06209331660327847417e+03 2.42005740240291393179e+02".split()
J0_RP = "-4.79443220978201773821e+09 1.95617491946556577543e+12 -2.49248344360967716204e+14 9.70862251047306323952e+15".split()
J0_RQ = "4.99563147152651017219e+02 1.73785401676374683123e+05 4.84409658339962045305e+07 1.11855537045356834862e+10 2.11277520115489217587e+12 3.10518229857422583814e+14 3.18121955943204943306e+16 1.71086294081043136091e+18".split()
J1_PP = "7.62125616208173112003e-04 7.31397056940917570436e-02 1.12719608129684925192e+00 5.11207951146807644818e+00 8.42404590141772420927e+00 5.21451598682361504063e+00 1.00000000000000000254e+00".split()
J1_PQ = "5.71323128072548699714e-04 6.88455908754495404082e-02 1.10514232634061696926e+00 5.07386386128601488557e+00 8.39985554327604159757e+00 5.20982848682361821619e+00 9.99999999999999997461e-01".split()
J1_QP = "5.10862594750176621635e-02 4.98213872951233449420e+00 7.58238284132545283818e+01 3.66779609360150777800e+02 7.10856304998926107277e+02 5.97489612400613639965e+02 2.11688757100572135698e+02 2.52070205858023719784e+01".split()
J1_QQ = "7.42373277035675149943e+01 1.05644886038262816351e+03 4.98641058337653607651e+03 9.56231892404756170795e+03 7.99704160447350683650e+03 2.82619278517639096600e+03 3.36093607810698293419e+02".split()
J1_RP = "-8.99971225705559398224e+08 4.52228297998194034323e+11 -7.27494245221818276015e+13 3.68295732863852883286e+15".split()
J1_RQ = "6.20836478118054335476e+02 2.56987256757748830383e+05 8.35146791431949253037e+07 2.21511595479792499675e+10 4.74914122079991414898e+12 7.84369607876235854894e+14 8.95222336184627338078e+16 5.32278620332680085395e+18".split()
Y0_YP = "1.55924367855235737965e+04 -1.46639295903971606143e+07 5.43526477051876500413e+09 -9.82136065717911466409e+11 8.75906394395366999549e+13 -3.46628303384729719441e+15 4.42733268572569800351e+16 -1.84950800436986690637e+16".split()
Y0_YQ = "1.04128353664259848412e+03 6.26107330137134956842e+05 2.68919633393814121987e+08 8.64002487103935000337e+10 2.02979612750105546709e+13 3.17157752842975028269e+15 2.50596256172653059228e+17".split()
Y1_YP = "1.26320474790178026440e+09 -6.47355876379160291031e+11 1.14509511541823727583e+14 -8.12770255501325109621e+15 2.02439475713594898196e+17 -7.78877196265950026825e+17".split()
Y1_YQ = "5.94301592346128195359e+02 2.35564092943068577943e+05 7.34811944459721705660e+07 1.87601316108706159478e+10 3.88231277496238566008e+12 6.20557727146953693363e+14 6.87141087355300489866e+16 3.97270608116560655612e+18".split()
# modified Bessel functions of the second kind (Cephes k0.c / k1.c): Chebyshev series on [0, 2] and (2, inf)
K0_A = "1.37446543561352307156e-16 4.25981614279661018399e-14 1.03496952576338420167e-11 1.90451637722020886025e-09 2.53479107902614945675e-07 2.28621210311945178607e-05 1.26461541144692592338e-03 3.59799365153615016266e-02 3.44289899924628486886e-01 -5.35327393233902768720e-01".split()
K0_B = ("5.30043377268626276149e-18 -1.64758043015242134646e-17 5.21039150503902756861e-17 -1.67823109680541210385e-16 "
        "5.51205597852431940784e-16 -1.84859337734377901440e-15 6.34007647740507060557e-15 -2.22751332699166985548e-14 "
        "8.03289077536357521100e-14 -2.98009692317273043925e-13 1.14034058820847496303e-12 -4.51459788337394416547e-12 "
        "1.85594911495471785253e-11 -7.95748924447710747776e-11 3.57739728140030116597e-10 -1.69753450938905987466e-09 "
        "8.57403401741422608519e-09 -4.66048989768794782956e-08 2.76681363944501510342e-07 -1.83175552271911948767e-06 "
        "1.39498137188764993662e-05 -1.28495495816278026384e-04 1.56988388573005337491e-03 -3.14481013119645005427e-02 "
        "2.44030308206595545468e+00").split()
K1_A = ("-7.02386347938628759343e-18 -2.42744985051936593393e-15 -6.66690169419932900609e-13 -1.41148839263352776110e-10 "
        "-2.21338763073472585583e-08 -2.43340614156596823496e-06 -1.73028895751305206302e-04 -6.97572385963986435018e-03 "
        "-1.22611180822657148235e-01 -3.53155960776544875667e-01 1.52530022733894777053e+00").split()
K1_B = ("-5.75674448366501715755e-18 1.79405087314755922667e-17 -5.68946255844285935196e-17 1.83809354436663880070e-16 "
        "-6.05704724837331885336e-16 2.03870316562433424052e-15 -7.01983709041831346144e-15 2.47715442448130437068e-14 "
        "-8.97670518232499435011e-14 3.34841966607842919884e-13 -1.28917396095102890680e-12 5.13963967348173025100e-12 "
        "-2.12996783842756842877e-11 9.21831518760500529508e-11 -4.19035475934189648750e-10 2.01504975519703286596e-09 "
        "-1.03457624656780970260e-08 5.74108412545004946722e-08 -3.50196060308781257119e-07 2.40648494783721712015e-06 "
        "-1.93619797416608296024e-05 1.95215518471351631108e-04 -2.85781685962277938680e-03 1.03923736576817238437e-01 "
        "2.72062619048444266945e+00").split()
# Airy Ai (Cephes airy.c): rationals for x >= 2.09 (AN/AD in 1/zeta) and x < -2.09 (AFN/AFD, AGN/AGD in z^2)
AI_AN = "3.46538101525629032477e-01 1.20075952739645805542e+01 7.62796053615234516538e+01 1.68089224934630576269e+02 1.59756391350164413639e+02 7.05360906840444183113e+01 1.40264691163389668864e+01 9.99999999999999995305e-01".split()
AI_AD = "5.67594532638770212846e-01 1.47562562584847203173e+01 8.45138970141474626562e+01 1.77318088145400459522e+02 1.64234692871529701831e+02 7.14778400825575695274e+01 1.40959135607834029598e+01 1.00000000000000000470e+00".split()
AI_AFN = "-1.31696323418331795333e-01 -6.26456544431912369773e-01 -6.93158036036933542233e-01 -2.79779981545119124951e-01 -4.91900132609500318020e-02 -4.06265923594885404393e-03 -1.59276496239262096340e-04 -2.77649108155232920844e-06 -1.67787698489114633780e-08".split()
AI_AFD = "1.33560420706553243746e+01 3.26825032795224613948e+01 2.67367040941499554804e+01 9.18707402907259625840e+00 1.47529146771666414581e+00 1.15687173795188044134e-01 4.40291641615211203805e-03 7.54720348287414296618e-05 4.51850092970580378464e-07".split()
AI_AGN = "1.97339932091685679179e-02 3.91103029615688277255e-01 1.06579897599595591108e+00 9.39169229816650230044e-01 3.51465656105547619242e-01 6.33888919628925490927e-02 5.85804113048388458567e-03 2.82851600836737019778e-04 6.98793669997260967291e-06 8.11789239554389293311e-08 3.41551784765923618484e-10".split()
AI_AGD = "9.30892908077441974853e+00 1.98352928718312140417e+01 1.55646628932864612953e+01 5.47686069422975497931e+00 9.54293611618961883998e-01 8.64580826352392193095e-02 4.12656523824222607191e-03 1.01259085116509135510e-04 1.17166733214413521882e-06 4.91834570062930015649e-09".split()
BESSEL_ARRAYS = [(n, v) for n, v in globals().items() if n[:3] in ("J0_", "J1_", "Y0_", "Y1_", "K0_", "K1_", "AI_")]
%>

<%def name="bessel(R)">
<%
    L = lambda v: lit(v, R)
    EPS = "FLT_EPSILON" if R == "float" else "DBL_EPSILON"
%>
% for n, v in BESSEL_ARRAYS:
${arr("sp_" + n, v, R)}
% endfor
${arr("sp_mi1a", I1_A, R)}
${arr("sp_mi1b", I1_B, R)}
/* J0, J1, Y0, Y1 (PyTorch's bessel_*_forward: Cephes j0.c, j1.c) */
static inline OVL ${R} sp_bessel_j0(${R} x) {
    if (x < 0) x = -x;
    if (x <= 5) {
        if (x < ${L("0.00001")}) return 1 - x * x / 4;
        const ${R} rp = sp_polevl(x * x, sp_J0_RP_${R}, 4), rq = sp_polevl(x * x, sp_J0_RQ_${R}, 8);
        return (x * x - ${L("5.78318596294678452118e+00")}) * (x * x - ${L("3.04712623436620863991e+01")}) * rp / rq;
    }
    const ${R} w = 25 / (x * x);
    const ${R} pp = sp_polevl(w, sp_J0_PP_${R}, 7), pq = sp_polevl(w, sp_J0_PQ_${R}, 7);
    const ${R} qp = sp_polevl(w, sp_J0_QP_${R}, 8), qq = sp_polevl(w, sp_J0_QQ_${R}, 7);
    const ${R} xn = x - ${L("0.785398163397448309615660845819875721")};
    return (pp / pq * cos(xn) - 5 / x * (qp / qq) * sin(xn)) * ${L("0.797884560802865355879892119868763737")} / sqrt(x);
}
static inline OVL ${R} sp_bessel_j1(${R} x0) {
    const ${R} x = x0 < 0 ? -x0 : x0;
    ${R} r;
    if (x <= 5) {
        const ${R} rp = sp_polevl(x * x, sp_J1_RP_${R}, 4), rq = sp_polevl(x * x, sp_J1_RQ_${R}, 8);
        r = rp / rq * x * (x * x - ${L("1.46819706421238932572e+01")}) * (x * x - ${L("4.92184563216946036703e+01")});
    } else {
        const ${R} w = 5 / x * (5 / x);
        const ${R} pp = sp_polevl(w, sp_J1_PP_${R}, 7), pq = sp_polevl(w, sp_J1_PQ_${R}, 7);
        const ${R} qp = sp_polevl(w, sp_J1_QP_${R}, 8), qq = sp_polevl(w, sp_J1_QQ_${R}, 7);
        const ${R} xn = x - ${L("2.356194490192344928846982537459627163")};
        r = (pp / pq * cos(xn) - 5 / x * (qp / qq) * sin(xn)) * ${L("0.797884560802865355879892119868763737")} / sqrt(x);
    }
    return x0 < 0 ? -r : r;
}
static inline OVL ${R} sp_bessel_y0(${R} x) {
    if (x <= 5) {
        if (x == 0) return -(${R})INFINITY;
        if (x < 0) return (${R})NAN;
        const ${R} yp = sp_polevl(x * x, sp_Y0_YP_${R}, 8), yq = sp_polevl(x * x, sp_Y0_YQ_${R}, 7);
        return yp / yq + (${L("0.636619772367581343075535053490057448")} * log(x) * sp_bessel_j0(x));
    }
    const ${R} w = 25 / (x * x);
    const ${R} pp = sp_polevl(w, sp_J0_PP_${R}, 7), pq = sp_polevl(w, sp_J0_PQ_${R}, 7);
    const ${R} qp = sp_polevl(w, sp_J0_QP_${R}, 8), qq = sp_polevl(w, sp_J0_QQ_${R}, 7);
    const ${R} xn = x - ${L("0.785398163397448309615660845819875721")};
    return (pp / pq * sin(xn) + 5 / x * (qp / qq) * cos(xn)) * ${L("0.797884560802865355879892119868763737")} / sqrt(x);
}
static inline OVL ${R} sp_bessel_y1(${R} x) {
    if (x <= 5) {
        if (x == 0) return -(${R})INFINITY;
        if (x <= 0) return (${R})NAN;
        const ${R} yp = sp_polevl(x * x, sp_Y1_YP_${R}, 6), yq = sp_polevl(x * x, sp_Y1_YQ_${R}, 8);
        return x * (yp / yq) + (${L("0.636619772367581343075535053490057448")} * (sp_bessel_j1(x) * log(x) - 1 / x));
    }
    const ${R} w = 5 / x * (5 / x);
    const ${R} pp = sp_polevl(w, sp_J1_PP_${R}, 7), pq = sp_polevl(w, sp_J1_PQ_${R}, 7);
    const ${R} qp = sp_polevl(w, sp_J1_QP_${R}, 8), qq = sp_polevl(w, sp_J1_QQ_${R}, 7);
    const ${R} xn = x - ${L("2.356194490192344928846982537459627163")};
    return (pp / pq * sin(xn) + 5 / x * (qp / qq) * cos(xn)) * ${L("0.797884560802865355879892119868763737")} / sqrt(x);
}

/* modified Bessel functions I0, I1 (full Chebyshev series for float too), K0, K1 and exp(x)-scaled K0, K1 */
static inline OVL ${R} sp_mbessel_i0(${R} x) {
    const ${R} a = fabs(x);
    if (a <= 8) return exp(a) * sp_chbevl(a / 2 - 2, sp_i0a_${R}, 30);
    return exp(a) * sp_chbevl(32 / a - 2, sp_i0b_${R}, 25) / sqrt(a);
}
static inline OVL ${R} sp_mbessel_i1(${R} x) {
    const ${R} a = fabs(x);
    ${R} r;
    if (a <= 8) r = sp_chbevl(a / 2 - 2, sp_mi1a_${R}, 29) * a * exp(a);
    else r = exp(a) * sp_chbevl(32 / a - 2, sp_mi1b_${R}, 25) / sqrt(a);
    return x < 0 ? -r : r;
}
static inline OVL ${R} sp_mbessel_k0(${R} x) {
    if (x == 0) return (${R})INFINITY;
    if (x < 0) return (${R})NAN;
    if (x <= 2) return sp_chbevl(x * x - 2, sp_K0_A_${R}, 10) - log(${L("0.5")} * x) * sp_mbessel_i0(x);
    return exp(-x) * sp_chbevl(8 / x - 2, sp_K0_B_${R}, 25) / sqrt(x);
}
static inline OVL ${R} sp_mbessel_k1(${R} x) {
    if (x == 0) return (${R})INFINITY;
    if (x < 0) return (${R})NAN;
    if (x <= 2) return log(${L("0.5")} * x) * sp_mbessel_i1(x) + sp_chbevl(x * x - 2, sp_K1_A_${R}, 11) / x;
    return exp(-x) * sp_chbevl(8 / x - 2, sp_K1_B_${R}, 25) / sqrt(x);
}
static inline OVL ${R} sp_mbessel_k0e(${R} x) {
    if (x == 0) return (${R})INFINITY;
    if (x < 0) return (${R})NAN;
    if (x <= 2) return (sp_chbevl(x * x - 2, sp_K0_A_${R}, 10) - log(${L("0.5")} * x) * sp_mbessel_i0(x)) * exp(x);
    return sp_chbevl(8 / x - 2, sp_K0_B_${R}, 25) / sqrt(x);
}
static inline OVL ${R} sp_mbessel_k1e(${R} x) {
    if (x == 0) return (${R})INFINITY;
    if (x < 0) return (${R})NAN;
    if (x <= 2) return (log(${L("0.5")} * x) * sp_mbessel_i1(x) + sp_chbevl(x * x - 2, sp_K1_A_${R}, 11) / x) * exp(x);
    return sp_chbevl(8 / x - 2, sp_K1_B_${R}, 25) / sqrt(x);
}

/* Airy Ai (Cephes airy.c as PyTorch's airy_ai_forward) */
static inline OVL ${R} sp_airy_ai(${R} x) {
    if (isinf(x)) return (${R})NAN;
    if (x > ${L("103.892")}) return 0;
    if (x < ${L("-2.09")}) {
        const ${R} z = 1 / (-2 * x * sqrt(-x) / 3);
        const ${R} afn = sp_polevl(z * z, sp_AI_AFN_${R}, 9), afd = sp_polevl(z * z, sp_AI_AFD_${R}, 9);
        const ${R} agn = sp_polevl(z * z, sp_AI_AGN_${R}, 11), agd = sp_polevl(z * z, sp_AI_AGD_${R}, 10);
        const ${R} t = -2 * x * sqrt(-x) / 3 + ${L("0.25")} * M_PI${"_F" if R == "float" else ""};
        return ${L("5.64189583547756286948e-01")} / sqrt(sqrt(-x)) * (sin(t) * (1 + z * z * afn / afd) - cos(t) * (z * agn / agd));
    }
    ${R} ai = 0;
    int domain_flag = 0;
    if (x >= ${L("2.09")}) {
        domain_flag = 5;
        const ${R} zeta = 2 * x * sqrt(x) / 3;
        const ${R} an = sp_polevl(1 / zeta, sp_AI_AN_${R}, 8), ad = sp_polevl(1 / zeta, sp_AI_AD_${R}, 8);
        ai = ${L("5.64189583547756286948e-01")} * (an / ad) / (2 * sqrt(sqrt(x)) * exp(zeta));
        if (x > ${L("8.3203353")}) return ai;
    }
    ${R} f = 1, g = x, k = 1, m = 1, n = x, t = 1;
    const ${R} z = x * x * x;
    while (t > ${EPS}) {
        m *= z; k += 1; m /= k;
        n *= z; k += 1; n /= k;
        m /= k; f += m;
        k += 1; n /= k; g += n;
        t = fabs(m / f);
    }
    if ((domain_flag & 1) == 0) return ${L("0.355028053887817239260")} * f - ${L("0.258819403792806798405")} * g;
    return ai;
}

static inline OVL ${R} sp_spherical_j0(${R} x) {
    if (isinf(x)) return 0;
    if (fabs(x) < ${L("0.5")}) {
        const ${R} z = x * x;
        return 1 + z * ((${R})-1 / 6 + z * ((${R})1 / 120 + z * ((${R})-1 / 5040 + z * ((${R})1 / 362880
               + z * ((${R})-1 / 39916800 + z * ((${R})1 / 6227020800))))));
    }
    return sin(x) / x;
}
</%def>

<%def name="poly(R)">
<%
    L = lambda v: lit(v, R)
    HLIM = 128 if R == "float" else 512
%>
/* orthogonal polynomials of degree n (a real operand truncated to an integer, as PyTorch's casts do; NaN or out
   of range -> negative degree -> 0) by their three-term recurrences, or trigonometric forms inside (-1, 1) */
static inline OVL long sp_degree(${R} n) {
    return (isnan(n) || fabs(n) >= ${L("9.2233720368547758e18")}) ? (long)0x8000000000000000UL : (long)n;
}
static inline OVL ${R} sp_cheb_t(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (fabs(x) == 1) return (x > 0 || n % 2 == 0) ? 1 : -1;
    if (n > 6 && fabs(x) < 1) return cos((${R})n * acos(x));
    if (n == 0) return 1;
    if (n == 1) return x;
    ${R} p = 1, q = x, r = x;
    for (long k = 2; k <= n && !isnan(q); k++) { r = (x + x) * q - p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_cheb_u(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (fabs(x) == 1) return (x > 0 || n % 2 == 0) ? (${R})(n + 1) : -(${R})(n + 1);
    if (n > 8 && fabs(x) < 1) {
        if (sin(acos(x)) != 0) return sin((${R})(n + 1) * acos(x)) / sin(acos(x));
        return (${R})(n + 1) * cos((${R})(n + 1) * acos(x)) / x;
    }
    if (n == 0) return 1;
    if (n == 1) return x + x;
    ${R} p = 1, q = x + x, r = q;
    for (long k = 2; k <= n && !isnan(q); k++) { r = (x + x) * q - p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_cheb_v(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (fabs(x) == 1) {
        if (x > 0) return 1;
        return n % 2 == 0 ? (${R})(n + n + 1) : -(${R})(n + n + 1);
    }
    if (n > 8 && fabs(x) < 1) {
        if (sin(acos(x) / 2) != 1) return cos(((${R})n + ${L("0.5")}) * acos(x)) / cos(acos(x) / 2);
        return n % 2 == 0 ? (${R})(n + n + 1) : -(${R})(n + n + 1);
    }
    if (n == 0) return 1;
    if (n == 1) return x + x - 1;
    ${R} p = 1, q = x + x - 1, r = q;
    for (long k = 2; k <= n && !isnan(q); k++) { r = (x + x) * q - p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_cheb_w(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (fabs(x) == 1) {
        if (x > 0) return (${R})(n + n + 1);
        return n % 2 == 0 ? 1 : -1;
    }
    if (n > 8 && fabs(x) < 1) {
        if (cos(acos(x) / 2) != 1) return sin(((${R})n + ${L("0.5")}) * acos(x)) / sin(acos(x) / 2);
        if (x > 0) return (${R})(n + n + 1);
        return n % 2 == 0 ? 1 : -1;
    }
    if (n == 0) return 1;
    if (n == 1) return x + x + 1;
    ${R} p = 1, q = x + x + 1, r = q;
    for (long k = 2; k <= n && !isnan(q); k++) { r = (x + x) * q - p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_scheb_t(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (x == 1) return 1;
    if (x == 0) return n % 2 == 0 ? 1 : -1;
    const ${R} y = x + x - 1;
    if (n > 6 && fabs(y) < 1) return cos((${R})n * acos(y));
    if (n == 0) return 1;
    if (n == 1) return y;
    ${R} p = 1, q = y, r = q;
    for (long k = 2; k <= n && !isnan(q); k++) { r = (y + y) * q - p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_scheb_u(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (x == 1) return (${R})(n + 1);
    if (x == 0) return n % 2 == 0 ? (${R})(n + 1) : -(${R})(n + 1);
    const ${R} y = x + x - 1;
    if (n > 6 && fabs(y) < 1) {
        if (sin(acos(y)) != 0) return sin((${R})(n + 1) * acos(y)) / sin(acos(y));
        return (${R})(n + 1) * cos((${R})(n + 1) * acos(y)) / y;
    }
    if (n == 0) return 1;
    if (n == 1) return y + y;
    ${R} p = 1, q = y + y, r = q;
    for (long k = 2; k <= n && !isnan(q); k++) { r = (y + y) * q - p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_scheb_v(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (x == 1) return 1;
    if (x == 0) return n % 2 == 0 ? (${R})(n + n + 1) : -(${R})(n + n + 1);
    const ${R} y = x + x - 1;
    if (n > 6 && fabs(y) < 1) {
        if (sin(acos(y) / 2) != 1) return cos(((${R})n + ${L("0.5")}) * acos(y)) / cos(acos(y) / 2);
        return n % 2 == 0 ? (${R})(n + n + 1) : -(${R})(n + n + 1);
    }
    if (n == 0) return 1;
    if (n == 1) return y + y - 1;
    ${R} p = 1, q = y + y - 1, r = q;
    for (long k = 2; k <= n && !isnan(q); k++) { r = (y + y) * q - p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_scheb_w(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (x == 1) return (${R})(n + n + 1);
    if (x == 0) return n % 2 == 0 ? 1 : -1;
    const ${R} y = x + x - 1;
    if (n > 4 && fabs(y) < 1) {
        if (cos(acos(y) / 2) != 1) return sin(((${R})n + ${L("0.5")}) * acos(y)) / sin(acos(y) / 2);
        return n % 2 == 0 ? 1 : -1;
    }
    if (n == 0) return 1;
    if (n == 1) return y + y + 1;
    ${R} p = 1, q = y + y + 1, r = q;
    for (long k = 2; k <= n && !isnan(q); k++) { r = (y + y) * q - p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_hermite_h(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (n == 0) return 1;
    if (n == 1) return x + x;
    if (n > ${HLIM}) return (${R})NAN;
    ${R} p = 1, q = x + x, r = 0;
    for (long k = 2; k < n + n; k += 2) { r = (x + x) * q - (${R})k * p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_hermite_he(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (n == 0) return 1;
    if (n == 1) return x;
    if (n > ${HLIM}) return (${R})NAN;
    ${R} p = 1, q = x, r = x;
    for (long k = 1; k < n; k++) { r = x * q - (${R})k * p; p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_laguerre_l(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (fabs(x) == 0) return 1;
    if (n == 0) return 1;
    if (n == 1) return 1 - x;
    ${R} p = 1, q = 1 - x, r = q;
    for (long k = 1; k < n && !isnan(q); k++) { r = (((${R})(k + k) + (1 - x)) * q - (${R})k * p) / (${R})(k + 1); p = q; q = r; }
    return r;
}
static inline OVL ${R} sp_legendre_p(${R} x, ${R} nf) {
    const long n = sp_degree(nf);
    if (n < 0) return 0;
    if (fabs(x) == 1) return (x > 0 || n % 2 == 0) ? 1 : -1;
    if (n == 0) return 1;
    if (n == 1) return x;
    ${R} p = 1, q = x, r = x;
    for (long k = 1; k < n && !isnan(q); k++) { r = ((${R})(k + k + 1) * x * q - (${R})k * p) / (${R})(k + 1); p = q; q = r; }
    return r;
}
</%def>

<%!
# Temme's coefficients d[k][n] of the uniform asymptotic expansion of the incomplete gamma functions (DLMF 8.12.12,
# 25 x 25; computed from DLMF 5.11.6 / 8.12.13 at 60 digits by series reversion), row k = the coefficient of a^-k
IGAM_D = (
    "-3.3333333333333333e-1 8.3333333333333333e-2 -1.4814814814814815e-2 1.1574074074074074e-3 3.527336860670194e-4 -1.7875514403292181e-4 3.9192631785224378e-5 -2.1854485106799922e-6 -1.85406221071516e-6 8.296711340953086e-7 -1.7665952736826079e-7 6.7078535434014986e-9 1.0261809784240308e-8 -4.3820360184533532e-9 9.1476995822367902e-10 -2.551419399494625e-11 -5.8307721325504251e-11 2.4361948020667416e-11 -5.0276692801141756e-12 1.1004392031956135e-13 3.3717632624009854e-13 -1.3923887224181621e-13 2.8534893807047443e-14 -5.1391118342425726e-16 -1.9752288294349443e-15 "
    "-1.8518518518518519e-3 -3.4722222222222222e-3 2.6455026455026455e-3 -9.9022633744855967e-4 2.0576131687242798e-4 -4.0187757201646091e-7 -1.8098550334489978e-5 7.6491609160811101e-6 -1.6120900894563446e-6 4.6471278028074343e-9 1.378633446915721e-7 -5.752545603517705e-8 1.1951628599778147e-8 -1.7543241719747648e-11 -1.0091543710600413e-9 4.1627929918425826e-10 -8.5639070264929806e-11 6.0672151016047586e-14 7.1624989648114854e-12 -2.9331866437714371e-12 5.9966963656836887e-13 -2.1671786527323314e-16 -4.9783399723692616e-14 2.0291628823713425e-14 -4.13125571381061e-15 "
    "4.1335978835978836e-3 -2.6813271604938272e-3 7.7160493827160494e-4 2.0093878600823045e-6 -1.0736653226365161e-4 5.2923448829120125e-5 -1.2760635188618728e-5 3.4235787340961381e-8 1.3721957309062933e-6 -6.298992138380055e-7 1.4280614206064242e-7 -2.0477098421990866e-10 -1.4092529910867521e-8 6.228974084922022e-9 -1.3670488396617113e-9 9.4283561590146782e-13 1.2872252400089318e-10 -5.5645956134363321e-11 1.1975935546366981e-11 -4.1689782251838635e-15 -1.0940640427884594e-12 4.6622399463901357e-13 -9.905105763906906e-14 1.8931876768373515e-17 8.8592218725911273e-15 "
    "6.4943415637860082e-4 2.2947209362139918e-4 -4.6918949439525571e-4 2.6772063206283885e-4 -7.5618016718839764e-5 -2.3965051138672967e-7 1.1082654115347302e-5 -5.6749528269915966e-6 1.4230900732435884e-6 -2.7861080291528142e-11 -1.6958404091930277e-7 8.0994649053880824e-8 -1.9111168485973654e-8 2.3928620439808118e-12 2.0620131815488798e-9 -9.4604966618551322e-10 2.1541049775774908e-10 -1.388823336813903e-14 -2.1894761681963939e-11 9.7909989511716851e-12 -2.1782191880180962e-12 6.2088195734079014e-17 2.126978363279737e-13 -9.3446887915174333e-14 2.0453671226782849e-14 "
    "-8.618882909167117e-4 7.8403922172006663e-4 -2.9907248030319018e-4 -1.4638452578843418e-6 6.6414982154651222e-5 -3.9683650471794347e-5 1.1375726970678419e-5 2.5074972262375328e-10 -1.6954149536558306e-6 8.9075075322053097e-7 -2.2929348340008049e-7 2.956794137544049e-11 2.8865829742708784e-8 -1.4189739437803219e-8 3.4463580499464897e-9 -2.3024517174528067e-13 -3.9409233028046405e-10 1.8602338968504502e-10 -4.356323005056618e-11 1.2786001016296231e-15 4.6792750266579195e-12 -2.1492464706134829e-12 4.9088156148096522e-13 -6.3385914848915603e-18 -5.0453320690800944e-14 "
    "-3.3679855336635815e-4 -6.9728137583658578e-5 2.7727532449593921e-4 -1.9932570516188848e-4 6.7977804779372078e-5 1.419062920643967e-7 -1.3594048189768693e-5 8.0184702563342015e-6 -2.2914811765080952e-6 -3.252473551298454e-10 3.4652846491085265e-7 -1.8447187191171343e-7 4.8240967037894181e-8 -1.7989466721743515e-14 -6.3061945000135234e-9 3.1624176287745679e-9 -7.8409242536974293e-10 5.1926791652540407e-15 9.3589442423067836e-11 -4.5134262161632782e-11 1.0799129993116827e-11 -3.661886712685252e-17 -1.210902069055155e-12 5.6807435849905643e-13 -1.3249659916340829e-13 "
    "5.3130793646399222e-4 -5.9216643735369388e-4 2.7087820967180448e-4 7.9023532326603279e-7 -8.1539693675619688e-5 5.6116827531062497e-5 -1.8329116582843376e-5 -3.0796134506033048e-9 3.4651553688036091e-6 -2.0291327396058604e-6 5.7887928631490037e-7 2.338630673826657e-13 -8.8286007463304835e-8 4.7435958880408128e-8 -1.2545415020710382e-8 8.6496488580102925e-14 1.6846058979264063e-9 -8.5754928235775947e-10 2.1598224929232125e-10 -7.6132305204761539e-16 -2.6639822008536144e-11 1.3065700536611057e-11 -3.1799163902367977e-12 4.7109761213674315e-18 3.6902800842763467e-13 "
    "3.4436760689237767e-4 5.1717909082605922e-5 -3.3493161081142236e-4 2.812695154763237e-4 -1.0976582244684731e-4 -1.2741009095484485e-7 2.7744451511563644e-5 -1.8263488805711333e-5 5.7876949497350524e-6 4.9387589339362704e-10 -1.0595367014026043e-6 6.1667143761104075e-7 -1.7562973359060462e-7 -1.2974473287015439e-12 2.695423606288966e-8 -1.4578352908731271e-8 3.887645959386175e-9 -3.8810022510194121e-17 -5.3279941738772867e-10 2.7437977643314845e-10 -6.9957960920705679e-11 2.5899863874868481e-17 8.8566890996696381e-12 -4.403168815871311e-12 1.0865561947091654e-12 "
    "-6.5262391859530942e-4 8.3949872067208728e-4 -4.3829709854172101e-4 -6.969091458420552e-7 1.6644846642067548e-4 -1.2783517679769219e-4 4.6299532636913043e-5 4.5579098679227077e-9 -1.0595271125805195e-5 6.7833429048651666e-6 -2.1075476666258804e-6 -1.7213731432817145e-11 3.7735877416110979e-7 -2.1867506700122867e-7 6.2202288040189269e-8 6.5977038267330006e-16 -9.5903864974256858e-9 5.2132144922808078e-9 -1.3991589583935709e-9 5.382058999060575e-16 1.9484714275467745e-10 -1.0127287556389682e-10 2.6077347197254926e-11 -5.0904186999932992e-18 -3.3721464474854592e-12 "
    "-5.9676129019274625e-4 -7.2048954160200106e-5 6.7823088376673284e-4 -6.4014752602627585e-4 2.7750107634328704e-4 1.8197008380465151e-7 -8.4795071170685032e-5 6.105192082501531e-5 -2.1073920183404862e-5 -8.8585890141255994e-10 4.5284535953805377e-6 -2.8427815022504408e-6 8.7082341778646412e-7 3.6886101871706965e-12 -1.5344695190702061e-7 8.862466778790695e-8 -2.5184812301826817e-8 -1.0225912098215092e-14 3.8969470758154777e-9 -2.1267304792235635e-9 5.7370135528051385e-10 -1.8877498501697115e-19 -8.0931538694657866e-11 4.2382723283449199e-11 -1.1002224534207726e-11 "
    "1.3324454494800656e-3 -1.9144384985654775e-3 1.1089369134596637e-3 9.932404122642299e-7 -5.0874501293093199e-4 4.2735056665392884e-4 -1.6858853767910799e-4 -8.1301893922784998e-9 4.5284402370562147e-5 -3.127053674781734e-5 1.044986828530338e-5 4.8435226265680926e-11 -2.1482565873456258e-6 1.329369701097492e-6 -4.0295693092101029e-7 -1.7567877666323291e-13 7.0145043163668257e-8 -4.040787734999483e-8 1.1474026743371963e-8 3.9642746853563942e-18 -1.7804938269892714e-9 9.7480262548731646e-10 -2.6405338676507616e-10 5.7948751634037601e-18 3.7647749553543836e-11 "
    "1.579727660730835e-3 1.6251626278391582e-4 -2.0633421035543276e-3 2.1389686185689098e-3 -1.0108559391263003e-3 -3.9912705529919201e-7 3.6235025084764691e-4 -2.8143901463712154e-4 1.0449513336495887e-4 2.1211418491830297e-9 -2.5779417251947842e-5 1.7281818956040463e-5 -5.6413773872904282e-6 -1.1024320105776174e-11 1.1223224418895175e-6 -6.8693396379526735e-7 2.0653236975414887e-7 4.6714772409838507e-14 -3.5609886164949055e-8 2.0470855345905963e-8 -5.8091738633283358e-9 -1.3328212875828648e-16 9.0354604391335133e-10 -4.9598782517330834e-10 1.3481607129399749e-10 "
    "-4.0725121195140166e-3 6.4033628338080698e-3 -4.0410161081676618e-3 -2.183732802866233e-6 2.1740441801254639e-3 -1.9700440518418892e-3 8.3595469747962458e-4 1.9445447567109655e-8 -2.5779387120421696e-4 1.9009987368139304e-4 -6.7696499937438965e-5 -1.4440629666426572e-10 1.5712512518742269e-5 -1.0304008744776893e-5 3.304517767401387e-6 7.9829760242325711e-13 -6.4097794149313004e-7 3.8894624761300056e-7 -1.1618347644948869e-7 -2.8168086305964423e-15 1.9878012911297093e-8 -1.1407719956357511e-8 3.2355857064185555e-9 4.1759462466484878e-20 -5.0423112718105824e-10 "
    "-5.9475779383993003e-3 -5.4016476789260452e-4 8.7910413550767898e-3 -9.8576315587856125e-3 5.0134695031021538e-3 1.2807521786221875e-6 -2.0626019342754683e-3 1.7109128573523058e-3 -6.7695312714133799e-4 -6.9011545676562133e-9 1.8855128143995902e-4 -1.3395215663491969e-4 4.6263183033528039e-5 4.0034230613321352e-11 -1.0255652921494033e-5 6.612086372797651e-6 -2.0913022027253008e-6 -2.0951775649603821e-13 3.9756029041993247e-7 -2.3956211978815887e-7 7.1182883382145864e-8 8.9255748717132516e-16 -1.2101547235064676e-8 6.935061824833439e-9 -1.9661464453856089e-9 "
    "1.7402027787522711e-2 -2.9527880945699121e-2 2.0045875571402799e-2 7.0289515966903407e-6 -1.2375421071343148e-2 1.1976293444235254e-2 -5.4156038466518525e-3 -6.3290893396418616e-8 1.8855118129005065e-3 -1.473473274825001e-3 5.5515810097708387e-4 5.2406834412550663e-10 -1.4357913535784836e-4 9.9181293224943297e-5 -3.3460834749478311e-5 -3.5755837291098965e-12 7.1560851960630076e-6 -4.5516802628155526e-6 1.4236576649271475e-6 1.8803149079275237e-14 -2.6623403898929211e-7 1.5950642189595716e-7 -4.718751467384107e-8 -6.5107812648216947e-17 7.9795091026746777e-9 "
    "3.0249124160905891e-2 2.4817436002649977e-3 -4.9939134373457022e-2 5.9915643009307869e-2 -3.2483207601623391e-2 -5.7212968652103441e-6 1.5085251778569354e-2 -1.3261324005088445e-2 5.5515262632426148e-3 3.0263182257030016e-8 -1.7229548406756723e-3 1.2893570099929637e-3 -4.6845138348319876e-4 -1.8302599378930446e-10 1.1449739014822654e-4 -7.7378565221244477e-5 2.5625836246985201e-5 1.0766165332658073e-12 -5.3246809282422621e-6 3.3496348630644642e-6 -1.0381253128684011e-6 -5.6089085334787487e-15 1.9150821930676721e-7 -1.1418365800203776e-7 3.365442520915233e-8 "
    "-9.9051020880159045e-2 1.7954011706123486e-1 -1.2989606383463778e-1 -3.1478872752284357e-5 9.0510635276848131e-2 -9.2828824411184397e-2 4.4412112839877808e-2 2.7779236316835888e-7 -1.7229543805449697e-2 1.4182925050891573e-2 -5.6214161633747336e-3 -2.3959850918638095e-9 1.6029634366079908e-3 -1.1606784674435773e-3 4.1001337768153873e-4 1.8365800753181602e-11 -9.5844256563655903e-5 6.3643062337764712e-5 -2.0762506244890636e-5 -1.1806017999805487e-13 4.2131808239120935e-6 -2.6262241337013132e-6 8.0770620494883962e-7 5.996409690563326e-16 -1.4729737374446201e-7 "
    "-1.9994542198219728e-1 -1.5056113040026424e-2 3.6470239469348489e-1 -4.6435192311733545e-1 2.6640934719197893e-1 3.4038266027147191e-5 -1.3784338709329624e-1 1.276467178337056e-1 -5.6213828755200985e-2 -1.7531508854830109e-7 1.9235592956768113e-2 -1.5088821281095315e-2 5.7401854451350122e-3 1.0622382710173866e-9 -1.5335082692563998e-3 1.0819320643228215e-3 -3.7372510193945634e-4 -6.6170904194333892e-12 8.4263617380910201e-5 -5.5150706827484876e-5 1.7769536448337795e-5 3.8790705710065656e-14 -3.5351369749902464e-6 2.1865832127706725e-6 -6.6812849492405418e-7 "
    "7.2438608504029431e-1 -1.3918010932653375 1.0654143352413968 1.876173868950258e-4 -8.2705501176152696e-1 8.9352433347828414e-1 -4.4971003995291339e-1 -1.6107401567546652e-6 1.9235590165271091e-1 -1.6597702160042609e-1 6.8882222681814333e-2 1.391009172443142e-8 -2.146911561508663e-2 1.6228980898865893e-2 -5.9796016172584216e-3 -1.1287468171928069e-10 1.516745111978496e-3 -1.0478634293554164e-3 3.5539072889105874e-4 8.1626165361507775e-13 -7.7773013444708856e-5 5.0291413891629071e-5 -1.6035083877747676e-5 -5.0260094840141358e-15 3.1369106037108429e-6 "
    "1.6668949727276811 1.165462765994632e-1 -3.3288393225018906 4.4692325482864037 -2.6977693045875807 -2.600667859891061e-4 1.5389017615694539 -1.4937962361134612 6.8881964633233148e-1 1.3077482004532885e-6 -2.5762963325596288e-1 2.109767610212545e-1 -8.3714408359219825e-2 -7.7920427470006739e-9 2.4267923064833763e-2 -1.7813678334552762e-2 6.397033038886307e-3 4.9415957307924712e-11 -1.5554602758916927e-3 1.0561196918773697e-3 -3.5277184484116648e-4 -3.0939103274351757e-13 7.5285854528775127e-5 -4.8186515801973003e-5 1.5227272261135095e-5 "
    "-6.6188298861372935 1.3397985455142589e+1 -1.0789350606845146e+1 -1.4352254537875018e-3 9.2333694596189809 -1.0456552819547769e+1 5.5105526029033471 1.2024439690699192e-5 -2.5762961164755816 2.320744274538718 -1.0045728797216278 -1.0207833106546672e-7 3.3975092171169697e-1 -2.6720517450758145e-1 1.0235252851556788e-1 8.4304485854526747e-10 -2.7998284959254921e-2 2.0066274142830731e-2 -7.0554368962373736e-3 -6.5100368967895219e-12 1.6562887995937561e-3 -1.1082898634291513e-3 3.6545453426391663e-4 4.504194098603435e-14 -7.6340113005579319e-5 "
    "-1.7112706061976095e+1 -1.1208044642899116 3.7131966511885444e+1 -5.2298271025348962e+1 3.3058589696624618e+1 2.4791298976198994e-3 -2.061089403411526e+1 2.0886727751455821e+1 -1.0045703956517746e+1 -1.2238783428880735e-5 4.0770134274221418 -3.473667358470283 1.4329352617303721 7.1356127717327981e-8 -4.4797257160415334e-1 3.4112666076996122e-1 -1.2699786335106672e-1 -4.5009172627884275e-10 3.3125776059235763e-2 -2.3274087133486544e-2 8.0399997492886824e-3 2.9014850277651008e-12 -1.8321627125162137e-3 1.210814074308124e-3 -3.9487195597625305e-4 "
    "7.389033153567425e+1 -1.5680141270402273e+2 1.322177542759164e+2 1.3692876877323932e-2 -1.2366496885920151e+2 1.462068939106273e+2 -8.0365587724865292e+1 -1.1259851130717249e-4 4.0770132196180215e+1 -3.8210340013274003e+1 1.7195222942763678e+1 9.3514785252251105e-7 -6.2716159909566645 5.1168999066380128 -2.0319658125917893 -7.6801557692726213e-9 5.9626396900089217e-1 -4.4220765550893936e-1 1.6079999498013861e-1 6.1054523300229245e-11 -4.0307579674978794e-2 2.7848723708930793e-2 -9.4769269433980913e-3 -4.5311174047686802e-13 2.1053350936332145e-3 "
    "2.1216837098382522e+2 1.3107863022633866e+1 -4.9698285932871748e+2 7.3121595266969209e+2 -4.8213821720890815e+2 -2.8817248691623406e-2 3.2616720302947323e+2 -3.4389340280087989e+2 1.719519387080629e+2 1.4038023228364069e-4 -7.5259419591943433e+1 6.6519699838095079e+1 -2.8447519767218779e+1 -8.023117747524861e-7 9.5402236474514965 -7.5175301476526308 2.894399900499762 4.9800238085669768e-9 -8.0615159428792152e-1 5.8482319790480169e-1 -2.0849239270188828e-1 -3.2254421901799682e-11 5.052804225167146e-2 -3.4412052806288527e-2 1.1560069800935846e-2 "
    "-9.8959643098322368e+2 2.1925555360905234e+3 -1.9283586782723343e+3 -1.5925738121579511e-1 1.956998594591999e+3 -2.4072514765082167e+3 1.3756149959328542e+3 1.2920686502737787e-3 -7.5259417161664083e+2 7.3171668734383029e+2 -3.4137023489099646e+2 -1.0517978697205115e-5 1.3356313092981055e+2 -1.1276295215735033e+2 4.6310398396005512e+1 8.4994841305657268e-8 -1.4510728696418298e+1 1.1111640759871899e+1 -4.1698478539718637 -6.7878530057181576e-10 1.1116169295323525 -7.91477214542811e-1 2.7744167522208627e-1 5.1563116963440177e-12 -6.5314399925145644e-2 "
).split()
# Lanczos approximation (g = 6.02468...) sum, exp(g)-scaled, as a rational in x (numerator, denominator)
LANCZOS_NUM = ("0.006061842346248906525783753964555936883222 0.5098416655656676188125178644804694509993 "
               "19.51992788247617482847860966235652136208 449.9445569063168119446858607650988409623 "
               "6955.999602515376140356310115515198987526 75999.29304014542649875303443598909137092 "
               "601859.6171681098786670226533699352302507 3481712.15498064590882071018964774556468 "
               "14605578.08768506808414169982791359218571 43338889.32467613834773723740590533316085 "
               "86363131.28813859145546927288977868422342 103794043.1163445451906271053616070238554 "
               "56906521.91347156388090791033559122686859").split()
LANCZOS_DEN = ("1. 66. 1925. 32670. 357423. 2637558. 13339535. 45995730. 105258076. 150917976. 120543840. "
               "39916800. 0.").split()
%>

<%def name="igamma(R)">
<%
    L = lambda v: lit(v, R)
    D = R == "double"
    MACHEP = "1.11022302462515654042E-16" if D else "5.9604644775390625E-8"
    MAXLOG = "7.09782712893383996843E2" if D else "88.72283905206835"
    BIG = "4.503599627370496e15" if D else "16777216."
    BIGINV = "2.22044604925031308085e-16" if D else "5.9604644775390625E-8"
%>
${arr("sp_igam_d", IGAM_D, R)}
${arr("sp_lanczos_num", LANCZOS_NUM, R)}
${arr("sp_lanczos_den", LANCZOS_DEN, R)}
/* regularized incomplete gamma functions P(a, x) (igamma) and Q(a, x) (igammac), as PyTorch's calc_igamma /
   calc_igammac (SciPy's igam/igamc: power series, continued fraction, Temme's uniform expansion near a ~ x) */
static inline OVL ${R} sp_lanczos_sum_expg_scaled(${R} x) {
    /* ratevl: the rational in x (|x| <= 1) or in 1/x */
    ${R} y, num, den;
    if (fabs(x) > 1) {
        y = 1 / x;
        num = sp_lanczos_num_${R}[12];
        for (int i = 11; i >= 0; i--) num = num * y + sp_lanczos_num_${R}[i];
        den = sp_lanczos_den_${R}[12];
        for (int i = 11; i >= 0; i--) den = den * y + sp_lanczos_den_${R}[i];
        return num / den;          /* pow(x, N - M) = x^0 */
    }
    num = sp_lanczos_num_${R}[0];
    for (int i = 1; i <= 12; i++) num = num * x + sp_lanczos_num_${R}[i];
    den = sp_lanczos_den_${R}[0];
    for (int i = 1; i <= 12; i++) den = den * x + sp_lanczos_den_${R}[i];
    return num / den;
}
static inline OVL ${R} sp_igam_fac(${R} a, ${R} x) {
    /* x^a exp(-x) / gamma(a) */
    const ${R} MAXLOG = ${L(MAXLOG)}, EXP1 = ${L("2.718281828459045")}, lg = ${L("6.024680040776729583740234375")};
    if (fabs(a - x) > ${L("0.4")} * fabs(a)) {
        const ${R} ax = a * log(x) - x - lgamma(a);
        if (ax < -MAXLOG) return 0;
        return exp(ax);
    }
    const ${R} fac = a + lg - ${L("0.5")};
    ${R} res = sqrt(fac / EXP1) / sp_lanczos_sum_expg_scaled(a);
    if (a < 200 && x < 200) {
        res *= exp(a - x) * pow(x / fac, a);
    } else {
        const ${R} num = x - a - lg + ${L("0.5")};
        const ${R} numfac = num / fac;
        res *= exp(a * (log1p(numfac) - numfac) + x * (${L("0.5")} - lg) / fac);
    }
    return res;
}
static inline OVL ${R} sp_igam_series(${R} a, ${R} x) {
    const ${R} MACHEP = ${L(MACHEP)};
    const ${R} ax = sp_igam_fac(a, x);
    if (ax == 0) return 0;
    ${R} r = a, c = 1, ans = 1;
    for (int i = 0; i < 2000; i++) {
        r += 1;
        c *= x / r;
        ans += c;
        if (c <= MACHEP * ans) break;
    }
    return ans * ax / a;
}
static inline OVL ${R} sp_igamc_series(${R} a, ${R} x) {
    const ${R} MACHEP = ${L(MACHEP)};
    ${R} fac = 1, sum = 0;
    for (int n = 1; n < 2000; n++) {
        fac *= -x / n;
        const ${R} term = fac / (a + n);
        sum += term;
        if (fabs(term) <= MACHEP * fabs(sum)) break;
    }
    const ${R} logx = log(x);
    const ${R} term = -expm1(a * logx - lgamma(1 + a));
    return term - exp(a * logx - lgamma(a)) * sum;
}
static inline OVL ${R} sp_igam_asy(${R} a, ${R} x, int igam) {
    const ${R} MACHEP = ${L(MACHEP)};
    const ${R} lambda = x / a, sigma = (x - a) / a;
    ${R} eta;
    const int sgn = igam ? -1 : 1;
    if (lambda > 1) eta = sqrt(-2 * (log1p(sigma) - sigma));
    else if (lambda < 1) eta = -sqrt(-2 * (log1p(sigma) - sigma));
    else eta = 0;
    ${R} res = ${L("0.5")} * erfc(sgn * eta * sqrt(a / 2));
    ${R} etapow[25];
    etapow[0] = 1;
    int maxpow = 0;
    ${R} sum = 0, afac = 1, absoldterm = (${R})INFINITY;
    for (int k = 0; k < 25; k++) {
        ${R} ck = sp_igam_d_${R}[k * 25];
        for (int n = 1; n < 25; n++) {
            if (n > maxpow) { etapow[n] = eta * etapow[n - 1]; maxpow += 1; }
            const ${R} ckterm = sp_igam_d_${R}[k * 25 + n] * etapow[n];
            ck += ckterm;
            if (fabs(ckterm) < MACHEP * fabs(ck)) break;
        }
        const ${R} term = ck * afac;
        const ${R} absterm = fabs(term);
        if (absterm > absoldterm) break;
        sum += term;
        if (absterm < MACHEP * fabs(sum)) break;
        absoldterm = absterm;
        afac /= a;
    }
    /* (2 pi a with pi rounded to float, as PyTorch's) */
    res += sgn * exp(-${L("0.5")} * a * eta * eta) * sum / sqrt(2 * ${L("3.1415927410125732")} * a);
    return res;
}
static inline OVL ${R} sp_igamc_cf(${R} a, ${R} x) {
    const ${R} MACHEP = ${L(MACHEP)}, BIG = ${L(BIG)}, BIGINV = ${L(BIGINV)};
    const ${R} ax = sp_igam_fac(a, x);
    if (ax == 0) return 0;
    ${R} y = 1 - a, z = x + y + 1, c = 0, pkm2 = 1, qkm2 = x, pkm1 = x + 1, qkm1 = z * x;
    ${R} ans = pkm1 / qkm1;
    for (int i = 0; i < 2000; i++) {
        c += 1; y += 1; z += 2;
        const ${R} yc = y * c;
        const ${R} pk = pkm1 * z - pkm2 * yc, qk = qkm1 * z - qkm2 * yc;
        ${R} t;
        if (qk != 0) { const ${R} r = pk / qk; t = fabs((ans - r) / r); ans = r; }
        else t = 1;
        pkm2 = pkm1; pkm1 = pk; qkm2 = qkm1; qkm1 = qk;
        if (fabs(pk) > BIG) { pkm2 *= BIGINV; pkm1 *= BIGINV; qkm2 *= BIGINV; qkm1 *= BIGINV; }
        if (t <= MACHEP) break;
    }
    return ans * ax;
}
static inline OVL ${R} sp_igammac(${R} a, ${R} x) {
    if (x < 0 || a < 0) return (${R})NAN;
    if (a == 0) return x > 0 ? 0 : (${R})NAN;
    if (x == 0) return 1;
    if (isinf(a)) return isinf(x) ? (${R})NAN : 1;
    if (isinf(x)) return 0;
    const ${R} absxma_a = fabs(x - a) / a;
    if (a > 20 && a < 200 && absxma_a < ${L("0.3")}) return sp_igam_asy(a, x, 0);
    if (a > 200 && absxma_a < ${L("4.5")} / sqrt(a)) return sp_igam_asy(a, x, 0);
    if (x > ${L("1.1")}) {
        if (x < a) return 1 - sp_igam_series(a, x);
        return sp_igamc_cf(a, x);
    }
    if (x <= ${L("0.5")}) {
        if (${L("-0.4")} / log(x) < a) return 1 - sp_igam_series(a, x);
        return sp_igamc_series(a, x);
    }
    if (x * ${L("1.1")} < a) return 1 - sp_igam_series(a, x);
    return sp_igamc_series(a, x);
}
static inline OVL ${R} sp_igamma(${R} a, ${R} x) {
    if (x < 0 || a < 0) return (${R})NAN;
    if (a == 0) return x > 0 ? 1 : (${R})NAN;
    if (x == 0) return 0;
    if (isinf(a)) return isinf(x) ? (${R})NAN : 0;
    if (isinf(x)) return 1;
    const ${R} absxma_a = fabs(x - a) / a;
    if (a > 20 && a < 200 && absxma_a < ${L("0.3")}) return sp_igam_asy(a, x, 1);
    if (a > 200 && absxma_a < ${L("4.5")} / sqrt(a)) return sp_igam_asy(a, x, 1);
    if (x > 1 && x > a) return 1 - sp_igammac(a, x);
    return sp_igam_series(a, x);
}
</%def>
